"""Fatigue of the phase-field damage field (damage.fatigue; Carrara et al., CMAME 361 (2020) 112731).

The homogeneous bar of tests/test_damage.py (ends held, loaded by a uniform Vegard eigenstrain, so the elastic
strain is e along the bar whatever the damage) cycled between e_max and 0. Every point of the bar is the same, so
the finite-element run must follow, to the solver's tolerance, the bar's damage evolution integrated per step in
numpy below (`bar_reference`): the closed-form d of the damage equation for the history H, and the explicit
fatigue update of solver/fields/damage.py (alpha = g(d) psi+, alpha_bar += <alpha - alpha_previous>+,
Gc_eff = f(alpha_bar) Gc).
"""
from __future__ import annotations

import numpy as np
import pytest

from solver.case import validate_case
from solver.cycle_jumping import CycleJumping, per_cycle_increment, run_cycles
from solver.damage_section import fatigue_factor
from solver.errors import CaseError

from test_damage import E_PA, GC, LENGTH_UM, _raw_minimal, bar_problem, load_path, strength_of

LENGTH_M = LENGTH_UM * 1e-6
RESIDUAL = 1e-6                        # damage.residual_stiffness (its default)
AT1_LIMIT_J_M3 = 3 * GC / (16 * LENGTH_M)
HALF_STIFFNESS = 1 - 1 / np.sqrt(2)    # g(d) = 1/2: the bar's peak stress has fallen to half (its failure here)


def bar_reference(model: str, fatigue: dict, strains) -> np.ndarray:
    """The bar's d after each step of `strains`: homogeneous, so the damage equation is algebraic,
    AT1: d = 1 - 3 Gc_eff / (16 l H), AT2: d = H / (H + Gc_eff / (2 l)), with H = max(peak psi+, psi+, AT1 limit)
    and d never below its last value."""
    kind = fatigue.get("fatigue", "none")
    threshold, slope = fatigue.get("fatigue_threshold_J_m3"), fatigue.get("fatigue_log_slope")
    peak = d = cumulated = previous = 0.0
    toughness, out = GC, []
    for e in strains:
        energy = E_PA * e * e / 2               # psi+ of uniaxial tension (psi- = 0), 0 at e = 0
        limit = 3 * toughness / (16 * LENGTH_M) if model == "AT1" else 0.0
        history = max(peak, energy, limit)
        balance = (1 - 3 * toughness / (16 * LENGTH_M * history) if model == "AT1"
                   else history / (history + toughness / (2 * LENGTH_M)))
        d = min(max(balance, d), 1.0)
        peak = max(peak, energy)
        degraded = ((1 - d) ** 2 + RESIDUAL) * energy
        cumulated += max(degraded - previous, 0.0)
        previous = degraded
        toughness = GC * float(fatigue_factor(kind, cumulated, threshold, slope))
        out.append(d)
    return np.array(out)


def cycles_to_failure(peak_damage) -> int:
    """The first cycle (1-based) whose peak damage halves the stiffness."""
    failed = np.asarray(peak_damage) >= HALF_STIFFNESS
    assert failed.any(), "the bar did not fail"
    return int(np.argmax(failed)) + 1


def cycle_strains(amplitude: float, cycles: int) -> list[float]:
    """Load to amplitude x the AT1 strength's strain and back to 0, `cycles` times (two steps a cycle: alpha_bar
    gains the whole rise g(d) psi+(e_max) each cycle, the same as any finer path for this bar)."""
    return [amplitude * strength_of("AT1") / E_PA, 0.0] * cycles


FATIGUE = {"asymptotic": {"fatigue": "asymptotic", "fatigue_threshold_J_m3": AT1_LIMIT_J_M3},
           "logarithmic": {"fatigue": "logarithmic", "fatigue_threshold_J_m3": 0.5 * AT1_LIMIT_J_M3,
                           "fatigue_log_slope": 0.5}}


@pytest.mark.parametrize("kind, amplitudes", [("asymptotic", (0.5, 0.6, 0.8)), ("logarithmic", (0.6, 0.8))])
def test_cycles_to_failure_of_the_bar_follow_its_homogeneous_solution(kind, amplitudes):
    """AT1 bar below its strength (amplitude = sigma_max / sigma_c): it stays elastic until alpha_bar has lowered
    Gc_eff enough, then softens cycle by cycle. The FE damage equals the reference at every step within 1e-10
    (measured 3e-14: the bar's staggered iteration converges in one solve, LU), so the cycles to failure
    (stiffness halved) agree exactly; they fall with the amplitude (a Woehler curve; measured 18 / 10 / 5 asymptotic, 17 / 5 logarithmic)."""
    lives = []
    for amplitude in amplitudes:
        reference = bar_reference("AT1", FATIGUE[kind], cycle_strains(amplitude, 60))
        life = cycles_to_failure(reference[::2])
        strains = cycle_strains(amplitude, life + 1)
        path = load_path(bar_problem({"model": "AT1", **FATIGUE[kind]}), strains)
        damage = np.array([d.max() for _, _, d in path])
        spread = max(np.ptp(d) for _, _, d in path)
        assert spread < 1e-9                                     # homogeneous: one value on the whole bar
        assert np.max(np.abs(damage - reference[:len(strains)])) < 1e-10, amplitude
        assert cycles_to_failure(damage[::2]) == life
        assert reference[0] == 0.0                               # the first cycle is elastic: fatigue did it
        lives.append(life)
    assert all(a > b for a, b in zip(lives, lives[1:])), lives
    assert lives[0] > 5, lives


def test_no_fatigue_below_the_threshold():
    """AT2 damages from the first load; while alpha_bar <= alpha_T the run is the monotonic model's step for step
    (the same d to roundoff, Gc unchanged); the cycle that takes alpha_bar past alpha_T lowers Gc and the damage
    grows beyond the no-fatigue run's."""
    strain = 0.8 * np.sqrt(GC / (3 * LENGTH_M * E_PA))          # 0.8 x the AT2 bar's strain at its peak stress
    strains = [strain, 0.0] * 8
    first = E_PA * strain**2 / 2 * (1 - bar_reference("AT2", {}, [strain])[0]) ** 2
    fatigue = {"fatigue": "asymptotic", "fatigue_threshold_J_m3": 4.5 * first}   # crossed during cycle 5
    plain = load_path(bar_problem({"model": "AT2"}), strains)
    problem = bar_problem({"model": "AT2", **fatigue})
    tired = load_path(problem, strains)
    reference = bar_reference("AT2", fatigue, strains)
    crossed = next(k for k in range(len(strains)) if bar_reference("AT2", fatigue, strains[:k + 1])[-1]
                   > bar_reference("AT2", {}, strains[:k + 1])[-1] + 1e-12)
    assert 6 <= crossed <= 10                                    # cycle 4 or 5 (steps 2 per cycle)
    for k, ((_, _, d_plain), (_, _, d_tired)) in enumerate(zip(plain, tired)):
        assert d_tired.max() == pytest.approx(reference[k], abs=1e-7)
        if k < crossed:
            assert np.allclose(d_tired, d_plain, rtol=0, atol=1e-12), k
    assert tired[-1][2].min() > plain[-1][2].max() + 0.01
    fracture = problem.fields["damage"].summary()["fracture"]["fatigue"]
    assert fracture["max_cumulated_J_m3"] > fatigue["fatigue_threshold_J_m3"]
    assert fracture["min_toughness_fraction"] < 1.0


def test_the_fatigue_functions_of_carrara_et_al():
    """f = 1 up to alpha_T; asymptotic (2 alpha_T / (alpha_bar + alpha_T))^2: 1/4 at 3 alpha_T; logarithmic
    (1 - kappa log10(alpha_bar / alpha_T))^2: 1/4 at 10 alpha_T with kappa = 1/2, 0 from 100 alpha_T."""
    cumulated = np.array([0.0, 1.0, 3.0, 10.0, 100.0, 1e4])
    assert np.allclose(fatigue_factor("asymptotic", cumulated, 1.0), [1, 1, 0.25, 4 / 121, 4 / 101**2, 4 / 10001**2])
    assert np.allclose(fatigue_factor("logarithmic", cumulated, 1.0, 0.5),
                       [1, 1, (1 - 0.5 * np.log10(3)) ** 2, 0.25, 0, 0])
    assert np.array_equal(fatigue_factor("none", cumulated, 1.0), np.ones(6))


@pytest.mark.parametrize("damage, message", [
    ({"fatigue": "paris"}, "damage.fatigue = 'paris'"),
    ({"fatigue": "asymptotic"}, "damage.fatigue = 'asymptotic': needs damage.fatigue_threshold_J_m3"),
    ({"fatigue": "logarithmic", "fatigue_threshold_J_m3": 1e5}, "needs damage.fatigue_log_slope"),
    ({"fatigue_threshold_J_m3": 1e5}, "damage.fatigue_threshold_J_m3 = 100000.0: has no effect"),
    ({"fatigue": "asymptotic", "fatigue_threshold_J_m3": 1e5, "fatigue_log_slope": 0.5},
     "damage.fatigue_log_slope = 0.5: has no effect"),
    ({"fatigue": "asymptotic", "fatigue_threshold_J_m3": -1.0}, "damage.fatigue_threshold_J_m3 = -1"),
])
def test_bad_fatigue_input_is_a_case_error_naming_the_key(damage, message):
    table = {"length_scale_um": LENGTH_UM, "fracture_energy_J_m2": GC, **damage}
    with pytest.raises(CaseError) as error:
        validate_case({**_raw_minimal(), "damage": table})
    assert message in str(error.value)


JUMPED = [("asymptotic", 0.25, {}), ("logarithmic", 0.4, {"fatigue_threshold_J_m3": AT1_LIMIT_J_M3})]


def explicit_life(kind: str, amplitude: float, fatigue: dict) -> int:
    """Cycles to failure judged at the cycle ends, as run_cycles judges them. (The end of a cycle has a little
    more damage than its peak: the toughness the peak lowered acts at the unloading step, because the history H
    keeps the peak's driving energy.)"""
    reference = bar_reference("AT1", {**FATIGUE[kind], **fatigue}, cycle_strains(amplitude, 1000))
    return cycles_to_failure(reference[1::2])


def jumped_bar(kind: str, amplitude: float, fatigue: dict, jumping):
    """The AT1 bar cycled at `amplitude` through solver.cycle_jumping.run_cycles until its stiffness halves."""
    problem = bar_problem({"model": "AT1", **FATIGUE[kind], **fatigue})
    damage = problem.fields["damage"]
    log = run_cycles(damage, lambda cycle: load_path(problem, cycle_strains(amplitude, 1)), 2000, jumping,
                     stop=lambda: damage.max_damage() >= HALF_STIFFNESS)
    return log, damage


@pytest.mark.parametrize("kind, amplitude, fatigue", JUMPED)
def test_cycle_jumping_reaches_the_explicit_cycles_to_failure_for_a_fraction_of_the_cycles(kind, amplitude, fatigue):
    """The default jumps (two explicit cycles, then as many as the caps allow) against the explicit life, which
    the FE bar follows exactly (test above): within 4 % (measured 146 vs 147 asymptotic, 145 vs 148
    logarithmic), solving at most a quarter of the cycles (measured 29 and 21: the toughness cap of 20 % per jump
    binds, as the bar's Gc falls ~4 % a cycle). fracture_cycles.csv gets a row per cycle end, jumps marked."""
    life = explicit_life(kind, amplitude, fatigue)
    assert life > 100
    log, damage = jumped_bar(kind, amplitude, fatigue, CycleJumping())
    assert log.stopped_at == pytest.approx(life, rel=0.04)
    assert log.explicit_cycles <= life / 4 and len(log.jumps) >= 3
    columns, rows = damage.tables()["fracture_cycles.csv"]
    assert [row["cycle"] for row in rows] == sorted({row["cycle"] for row in rows})   # increasing, each once
    assert rows[-1]["cycle"] == log.stopped_at and len(rows) == log.explicit_cycles + len(log.jumps)
    assert sum(row["extrapolated"] for row in rows) == len(log.jumps)
    assert set(columns) == set(rows[0])


def test_a_jump_never_lowers_the_damage_nor_the_fatigue_history():
    """Least-squares increments are clipped at 0; the field takes the extrapolated state only where it is higher
    (and d <= 1)."""
    assert np.allclose(per_cycle_increment([np.array([0.0, 1.0, 0.5]), np.array([1.0, 1.0, 0.2]),
                                            np.array([2.0, 1.0, 0.1])]), [1.0, 0.0, 0.0])
    problem = bar_problem({"model": "AT1", **FATIGUE["asymptotic"]})
    damage = problem.fields["damage"]
    load_path(problem, cycle_strains(0.8, 6))
    before = damage.cycle_state()
    assert before["damage"].max() > 0
    damage.jump({"damage": before["damage"] * 0 + 2.0, "history": before["history"] * 0.5,
                 "cumulated": before["cumulated"] * 0.5}, 10)
    after = damage.cycle_state()
    assert np.all(after["damage"] == 1.0) and np.array_equal(after["history"], before["history"])
    assert np.array_equal(after["cumulated"], before["cumulated"])


@pytest.mark.slow
@pytest.mark.parametrize("kind, amplitude, fatigue", JUMPED)
def test_cycle_jumping_costs_far_less_than_explicit_cycling(kind, amplitude, fatigue):
    """The measured cost: the FE bar cycled explicitly to failure against the jumped run (measured 8.1 s against
    1.7 s asymptotic, 8.6 s against 1.4 s logarithmic on the shared 2-core development machine: 4.7x and 6.0x,
    about the ratio of the cycles solved, 147 / 29 and 148 / 21)."""
    import time

    started = time.perf_counter()
    explicit, _ = jumped_bar(kind, amplitude, fatigue, None)
    explicit_s = time.perf_counter() - started
    started = time.perf_counter()
    jumped, _ = jumped_bar(kind, amplitude, fatigue, CycleJumping())
    jumped_s = time.perf_counter() - started
    assert explicit.stopped_at == explicit_life(kind, amplitude, fatigue)
    assert jumped.stopped_at == pytest.approx(explicit.stopped_at, rel=0.04)
    assert explicit_s > 3 * jumped_s, (explicit_s, jumped_s)


def test_restore_brings_back_the_fatigue_history():
    """state()/restore() carry alpha_bar, the last degraded energy and Gc_eff: cycling on from a restored state
    repeats the damage of the first time."""
    problem = bar_problem({"model": "AT1", **FATIGUE["asymptotic"]})
    damage = problem.fields["damage"]
    load_path(problem, cycle_strains(0.8, 2))
    saved = damage.state()
    first = [d.copy() for _, _, d in load_path(problem, cycle_strains(0.8, 3))]
    assert damage.toughness.x.array.max() < saved["toughness"].min()     # fatigue went on
    damage.restore(saved)
    assert np.array_equal(damage.toughness.x.array, saved["toughness"])
    again = [d for _, _, d in load_path(problem, cycle_strains(0.8, 3))]
    assert all(np.allclose(a, b, rtol=0, atol=1e-12) for a, b in zip(first, again))
    assert first[-1].max() > saved["solution"].max() + 0.05


def test_a_fatigue_case_runs_from_the_cli(cli, tmp_path):
    """The shipped damage case with asymptotic fatigue on a coarse mesh: summary.json["fracture"]["fatigue"] says
    how far alpha_bar got and how much Gc fell (a threshold of 1 kJ/m^3: a single charge passes it)."""
    import json

    from conftest import CASES

    out = tmp_path / "run"
    done = cli("run", CASES / "ncm811_damage.toml", "--out", out, "--no-pictures", "--set",
               "mesh.cell_size_fraction=0.35", "--set", "mesh.surface_cell_size_fraction=0.2", "--set", "time.steps=4",
               "--set", 'damage.fatigue="asymptotic"', "--set", "damage.fatigue_threshold_J_m3=1e3")
    assert done.returncode == 0, done.stderr
    fatigue = json.loads((out / "summary.json").read_text())["fracture"]["fatigue"]
    assert fatigue["model"] == "asymptotic" and fatigue["threshold_J_m3"] == 1e3
    assert fatigue["max_cumulated_J_m3"] > 1e3 and 0 < fatigue["min_toughness_fraction"] < 1
