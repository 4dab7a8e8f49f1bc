"""Named material parameter sets (solver/parameter_sets.py): resolution to SI, explicit keys winning, unknown
names, the shipped cases that use them, and `python -m solver materials`."""
import subprocess
import sys
from pathlib import Path

import pytest

from solver.case import load_case, read_case_file, validate_case
from solver.errors import CaseError
from solver.parameter_sets import BASES, PARAMETER_SETS

REPO = Path(__file__).resolve().parent.parent
CASES = REPO / "cases"


def minimal(material: dict, **extra) -> dict:
    return {"name": "x", "geometry": {"kind": "sphere", "radius_um": 5.0}, "material": material,
            "operation": {"li_fraction_start": 0.95, "li_fraction_end": 0.25}, **extra}


def test_the_five_materials_are_there():
    assert set(PARAMETER_SETS) == {"ncm811", "ncm83", "ni96", "lnmo", "lrmo"}


@pytest.mark.parametrize("name", sorted(PARAMETER_SETS))
def test_every_value_is_cited_with_a_unit_and_a_basis(name):
    chosen = PARAMETER_SETS[name]
    values = [*chosen.values, chosen.molar_mass_g_mol]
    assert {v.key for v in chosen.values} >= {"c_max_mol_m3", "diffusivity_m2_s", "young_modulus_GPa",
                                               "poisson_ratio"}
    # the strain comes from a partial molar volume or from a lattice table
    assert ("partial_molar_volume_m3_mol" in {v.key for v in chosen.values}) != (chosen.lattice is not None)
    for value in values:
        assert value.basis in BASES and value.unit and len(value.source) > 10, value


def test_ncm811_resolves_to_the_expected_si_values():
    material = validate_case(minimal({"parameter_set": "ncm811"}))["material"]
    assert material["parameter_set"] == "ncm811"
    assert material["model"] == "isotropic"
    assert material["c_max_mol_m3"] == 49000.0
    assert material["diffusivity_m2_s"] == 1.4e-14
    assert material["young_modulus_Pa"] == 150e9
    assert material["poisson_ratio"] == 0.3
    assert material["partial_molar_volume_m3_mol"] == 1.39e-6


def test_a_layered_set_brings_its_model_and_lattice():
    material = validate_case(minimal({"parameter_set": "ni96"}))["material"]
    assert material["model"] == "layered_oxide"
    assert material["layered"]["lattice"] == "ni96"
    assert material["layered"]["lattice_table_li_fraction_a_c_angstrom"][0] == [0.05, 2.82, 13.55]
    # own [material.layered] keys are merged over the set's lattice
    material = validate_case(minimal({"parameter_set": "ncm83", "layered": {"stiffness": "isotropic"}}))["material"]
    assert material["layered"]["lattice"] == "ncm83"


def test_explicit_keys_win_over_the_set():
    material = validate_case(minimal({"parameter_set": "ncm811", "diffusivity_m2_s": 6.3e-14,
                                      "young_modulus_Pa": 1.2e11, "name": "activated NCM811"}))["material"]
    assert material["diffusivity_m2_s"] == 6.3e-14
    assert material["young_modulus_Pa"] == 1.2e11           # another unit of the same key replaces the set's GPa
    assert material["name"] == "activated NCM811"
    assert material["c_max_mol_m3"] == 49000.0              # the rest still from the set
    # another model than the set's: the set's lattice is not forced on it
    material = validate_case(minimal({"parameter_set": "ncm83", "model": "isotropic",
                                      "partial_molar_volume_m3_mol": 1e-6}))["material"]
    assert material["model"] == "isotropic" and material["layered"] is None


def test_resolution_is_idempotent():
    case = validate_case(minimal({"parameter_set": "lrmo", "partial_molar_volume_m3_mol": 6.834e-7}))
    assert validate_case(case) == case


def test_an_unknown_set_lists_the_valid_names():
    with pytest.raises(CaseError) as info:
        validate_case(minimal({"parameter_set": "nca"}))
    message = str(info.value)
    assert "material.parameter_set = 'nca'" in message
    for name in PARAMETER_SETS:
        assert name in message
    with pytest.raises(CaseError, match="material.parameter_set = 3: must be a string"):
        validate_case(minimal({"parameter_set": 3}))


def test_shipped_cases_name_their_set_and_keep_their_values():
    """The converted cases resolve to the numbers they held before (written out in them until now)."""
    expected = {"ncm811_particle.toml": ("ncm811", 49000.0, 1.4e-14, 150e9, 0.3, 1.39e-6),
                "verification_sphere.toml": ("ncm811", 49000.0, 1.4e-14, 150e9, 0.3, 1.39e-6),
                "p_ncm83.toml": ("ncm83", 49000.0, 1.4e-14, 150e9, 0.3, None),
                "p_ni96.toml": ("ni96", 49000.0, 1.4e-14, 150e9, 0.3, None),
                "lnmo_hollow.toml": ("lnmo", 24370.0, 1e-15, 140e9, 0.3, 2.5e-6),
                "lrmo_pristine.toml": ("lrmo", 59700.0, 1.9e-18, 150e9, 0.3, 9.197e-7),
                "lrmo_ru1.toml": ("lrmo", 59700.0, 1.9e-18, 150e9, 0.3, 6.834e-7)}   # Ru-1's own Omega wins
    for name, (chosen, c_max, d, e, nu, omega) in expected.items():
        material = load_case(CASES / name)["material"]
        assert material["parameter_set"] == chosen, name
        got = tuple(material[k] for k in ("c_max_mol_m3", "diffusivity_m2_s", "young_modulus_Pa", "poisson_ratio",
                                          "partial_molar_volume_m3_mol"))
        assert got == (c_max, d, e, nu, omega), name
        assert "c_max_mol_m3" not in read_case_file(CASES / name)["material"], name   # from the set, not the file
    assert load_case(CASES / "p_ni96.toml")["material"]["layered"]["lattice"] == "ni96"


def test_the_cli_lists_every_set():
    done = subprocess.run([sys.executable, "-m", "solver", "materials"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for chosen in PARAMETER_SETS.values():
        assert f"{chosen.name}: {chosen.formula}" in done.stdout
        for value in chosen.values:
            assert value.source in done.stdout
    assert "1.39e-06 m^3/mol" in done.stdout and "measured" in done.stdout
