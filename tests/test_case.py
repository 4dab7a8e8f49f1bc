"""Case files: validation messages name the key, the value and what is allowed; overrides; bases."""
from pathlib import Path

import pytest

from solver.case import apply_overrides, end_time_s, load_case, read_case_file, validate_case
from solver.errors import CaseError

CASES = Path(__file__).resolve().parent.parent / "cases"
VERIFICATION = CASES / "verification_sphere.toml"


def raw_case():
    return read_case_file(VERIFICATION)


def expect_error(raw, *fragments):
    with pytest.raises(CaseError) as info:
        validate_case(raw)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


@pytest.mark.parametrize("path", sorted(CASES.glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_case_validates(path):
    case = load_case(path)
    assert case["name"]
    assert case["material"]["young_modulus_Pa"] > 1e9  # GPa converted to Pa


def test_units_are_converted_to_si():
    case = load_case(VERIFICATION)
    assert case["geometry"]["radius_m"] == pytest.approx(5e-6)
    assert case["material"]["young_modulus_Pa"] == pytest.approx(150e9)
    assert end_time_s(case, 5e-6) == pytest.approx(0.2 * (5e-6) ** 2 / 1.4e-14)


@pytest.mark.parametrize("section,key,value,fragments", [
    ("material", "young_modulus_GPa", -5.0, ["material.young_modulus_GPa = -5.0", "> 0"]),
    ("material", "poisson_ratio", 0.5, ["material.poisson_ratio = 0.5", "(-1, 0.5)"]),
    ("material", "poisson_ratio", "0.3", ["material.poisson_ratio = '0.3'", "a number"]),
    ("material", "c_max_mol_m3", 0.0, ["material.c_max_mol_m3 = 0.0", "> 0"]),
    ("operation", "li_fraction_start", 1.2, ["operation.li_fraction_start = 1.2", "[0, 1]", "c_max"]),
    ("operation", "c_rate", True, ["operation.c_rate = True", "a number"]),
    ("operation", "mode", "pulsed", ["operation.mode = 'pulsed'", "'galvanostatic'", "'potentiostatic'"]),
    ("time", "steps", 2.5, ["time.steps = 2.5", "whole number"]),
    ("geometry", "radius_um", -1.0, ["geometry.radius_um = -1.0", "> 0"]),
])
def test_bad_values_are_named(section, key, value, fragments):
    raw = raw_case()
    raw[section][key] = value
    expect_error(raw, *fragments)


def test_unknown_keys_list_the_allowed_ones():
    raw = raw_case()
    raw["material"]["youngs_modulus"] = 1.0
    message = expect_error(raw, "material.youngs_modulus", "unknown key")
    assert "young_modulus_GPa" in message
    raw = raw_case()
    raw["physics"] = {}
    expect_error(raw, "physics", "unknown top-level key")


def test_porosity_outside_range_is_rejected():
    raw = raw_case()
    raw["geometry"] = {"kind": "porous", "radius_um": 5.0, "porosity": 1.5}
    expect_error(raw, "geometry.porosity")


def test_charge_window_must_extract_lithium():
    raw = raw_case()
    raw["operation"]["li_fraction_end"] = 0.99
    expect_error(raw, "operation.li_fraction_end = 0.99", "extracts Li")


def test_both_modulus_units_is_an_error():
    raw = raw_case()
    raw["material"]["young_modulus_GPa"] = 150.0   # written next to the parameter set: both explicit
    raw["material"]["young_modulus_Pa"] = 1.5e11
    expect_error(raw, "young_modulus_Pa", "give only one of")  # the schema's wording for two units of one key
    raw["material"].pop("young_modulus_Pa")
    raw["material"].pop("young_modulus_GPa")
    raw["material"].pop("parameter_set")           # the set would supply young_modulus_GPa; the rest by hand
    raw["material"].update(c_max_mol_m3=49000.0, diffusivity_m2_s=1.4e-14, poisson_ratio=0.3,
                           partial_molar_volume_m3_mol=1.39e-6)
    expect_error(raw, "material.young_modulus_Pa / material.young_modulus_GPa: give exactly one")
    raw = raw_case()
    raw["material"]["regions"] = {"bulk": {"young_modulus_GPa": 100, "young_modulus_Pa": 1e11}}
    expect_error(raw, "material.regions.bulk.young_modulus_GPa = 100", "give only one of young_modulus_Pa, young_modulus_GPa")


def test_potentiostatic_needs_surface_fraction_and_end_time():
    raw = raw_case()
    raw["operation"] = {"mode": "potentiostatic", "li_fraction_start": 0.9}
    expect_error(raw, "operation.surface_li_fraction", "missing")
    raw["operation"]["surface_li_fraction"] = 0.5
    raw["time"] = {}
    expect_error(raw, "time.t_end_s", "end time")


def test_overrides_reach_any_key_and_are_validated():
    case = load_case(VERIFICATION, ["material.young_modulus_GPa=100", "time.scheme=backward_euler",
                                    "geometry.radius_um=2.5"])
    assert case["material"]["young_modulus_Pa"] == pytest.approx(1e11)
    assert case["time"]["scheme"] == "backward_euler"
    assert case["geometry"]["radius_m"] == pytest.approx(2.5e-6)
    with pytest.raises(CaseError, match="material.poisson_ratio = 0.7"):
        load_case(VERIFICATION, ["material.poisson_ratio=0.7"])
    with pytest.raises(CaseError, match="section.key=value"):
        apply_overrides({}, ["novalue"])


def test_base_inheritance_and_cycles(tmp_path):
    child = tmp_path / "child.toml"
    child.write_text(f'base = "{VERIFICATION}"\nname = "child"\n[material]\npoisson_ratio = 0.25\n')
    case = load_case(child)
    assert case["name"] == "child"
    assert case["material"]["poisson_ratio"] == 0.25
    assert case["material"]["c_max_mol_m3"] == 49000.0  # inherited
    loop = tmp_path / "loop.toml"
    loop.write_text('base = "loop.toml"\nname = "x"\n')
    with pytest.raises(CaseError, match="cycle"):
        load_case(loop)


def test_unreadable_files_give_clear_errors(tmp_path):
    with pytest.raises(CaseError, match="not found"):
        load_case(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("name = \n")
    with pytest.raises(CaseError, match="not valid TOML"):
        load_case(broken)
