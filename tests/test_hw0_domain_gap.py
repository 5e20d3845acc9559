"""bench/hw0_domain_gap.py: per-family descriptors of genuine vs stand-in notes, on notes whose envelope and
harmonics are known by construction."""
import json

import numpy as np
import soundfile as sf

from conftest import run_script

SR = 16000


def tone(pitch, odd_only=False, fade_db=0.0, silent_after=None):
    """4 s of a harmonic tone with 1/k harmonic amplitudes (a saw; odd_only: a square, clarinet-like), fading
    linearly in dB by fade_db over 3 s, zeros from silent_after seconds."""
    t = np.arange(4 * SR) / SR
    f0 = 440.0 * 2 ** ((pitch - 69) / 12)
    ks = [k for k in range(1, 40) if k * f0 < SR / 2 - 200 and (k % 2 or not odd_only)]
    y = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in ks)
    y = y * 10 ** (-fade_db * np.minimum(t, 3.0) / 3.0 / 20)
    if silent_after is not None:
        y[t >= silent_after] = 0.0
    return (0.9 * y / np.abs(y).max()).astype(np.float32)


def write(folder, notes):
    (folder / "audio").mkdir(parents=True)
    for name, y in notes.items():
        sf.write(folder / "audio" / f"{name}.wav", y, SR, subtype="PCM_16")


def test_domain_gap_reports_envelope_and_harmonic_differences_per_family(tmp_path):
    write(tmp_path / "real", {"reed_acoustic_000-048-127": tone(48, fade_db=12, silent_after=3.3),
                              "brass_acoustic_000-048-127": tone(48, silent_after=3.3)})
    write(tmp_path / "standin", {"reed_acoustic_000-047-127": tone(47, odd_only=True),
                                 "reed_acoustic_001-049-100": tone(49, odd_only=True),
                                 # outside the pitch window and below the velocity: never measured
                                 "reed_acoustic_002-060-127": tone(60, fade_db=40, silent_after=3.3),
                                 "reed_acoustic_003-048-050": tone(48, fade_db=40, silent_after=3.3)})
    out = tmp_path / "gap" / "domain_gap.json"
    proc = run_script("bench/hw0_domain_gap.py", "--real", tmp_path / "real", "--data", tmp_path / "standin",
                      "--out", out)
    assert "even_minus_odd_db" in proc.stdout and out.with_suffix(".png").is_file()
    fams = json.loads(out.read_text())["families"]
    assert set(fams) == {"reed", "brass"}
    real, standin = fams["reed"]["genuine"], fams["reed"]["standin"]
    assert real["n"] == 1 and standin["n"] == 2
    assert fams["brass"]["standin"]["n"] == 0 and fams["brass"]["standin"]["centroid_hz"] is None
    # a saw has every harmonic (even about as loud as odd), a square-like tone none of the even ones
    assert abs(real["even_minus_odd_db"]) < 4 and standin["even_minus_odd_db"] < -30
    # the 12 dB fade over 3 s: -6 dB at 1.5 s, -11.2 dB at 2.8 s; the stand-ins hold
    assert abs(real["fade_1.5s"] + 6.0) < 1 and abs(real["fade_2.8s"] + 11.2) < 1
    assert abs(standin["fade_2.8s"]) < 1
    assert real["silent_release"] == 1.0 and standin["silent_release"] == 0.0
    assert real["peak_s"] < 0.2                                       # loudest at the start of a fading note

    bad = run_script("bench/hw0_domain_gap.py", "--real", tmp_path / "real", "--data", tmp_path / "standin",
                     "--out", out, "--pitch_window", "0", "--min_velocity", "128", check=False)
    assert bad.returncode != 0 and "no notes within 0 semitones" in bad.stderr and "Traceback" not in bad.stderr
