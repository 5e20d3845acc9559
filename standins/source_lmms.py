"""
Extra instrument source for standins/render_nsynth.py: the pitched one-shot recordings that ship with LMMS.

    python standins/render_nsynth.py --out DIR --sources lmms --splits "train=lmms:0.7;valid=lmms:0.3" ...
    python standins/source_lmms.py        # sanity check: table pitch vs pyin, rendered pitch, length, loop seams

What it renders: each sample is played like a sampler plays it. A note is the recording resampled to the asked pitch
(up or down by at most MAX_SHIFT = 24 semitones; further notes come back as None, so only plausible notes are made).
Sustained families (organ, string, vocal, flute, brass, synth_lead) that run out before the note ends loop a stable
stretch of their sustain, pitch-synchronously with a crossfade, its slow envelope held flat; decaying families (bass,
keyboard, guitar, mallet, pizzicato) decay naturally, and a recording that stops while still sounding is continued by
looping its tail with the decay rate measured on the recording. Then: velocity sets the brightness (a gentle
first-order low-pass, cut-off 1.3 kHz at velocity 25 up to above Nyquist at 127, never below 3 x f0) and the gain
(render_nsynth normalises the peak anyway), an attack fade-in, the note held to `off` (3 s) and a release that ends
well before 4 s. An instrument = one sample + a random treatment drawn from the seed: spectral tilt (+-2 dB/octave),
attack time, loop position and length, detune (+-8 cents), release time, decay-rate scale. Its split unit is the
recording (the file; the distorted copies of the steel guitar and the three space_strings share one unit), so
variants of one recording never straddle splits. By default each sample gives VARIANTS instruments.

    file (under samples/)                  family      source      kind     pitch (MIDI)
    instruments/cello01                    string      acoustic    sustain  37.85
    instruments/violin_fingered01          string      acoustic    sustain  66.85
    instruments/violin_pizzicato01         string      acoustic    decay    66.95
    stringsnpads/strings01                 string      synthetic   sustain  60.05   (ensemble pad, origin unknown)
    stringsnpads/orion_string01            string      synthetic   sustain  59.95   (Orion synth strings)
    stringsnpads/space_strings01..03       string      synthetic   sustain  35.95 35.95 36.05   (one unit)
    instruments/church_organ01..04         organ       acoustic    sustain  69.05 57.05 44.95 44.95   (pipe organ)
    instruments/flute01                    flute       acoustic    sustain  80.95
    instruments/trumpet01                  brass       acoustic    sustain  68.95
    stringsnpads/chorus01, chorus02        vocal       acoustic    sustain  71.95 56.95   (choir "aah")
    stringsnpads/juno_pad01                synth_lead  synthetic   sustain  72.15   (Roland Juno pad)
    instruments/piano01, piano02           keyboard    acoustic    decay    60.05 48.05
    instruments/harpsichord01              keyboard    acoustic    decay    60.05
    instruments/steel_guitar01             guitar      acoustic    decay    54.9    (dyad G3+C4; pitch = lower note)
    instruments/steel_guitar_{slight,medium,heavy}_distorted01
                                           guitar      electronic  decay    54.9    (the same take distorted; one unit)
    instruments/bassslap01, bassslap02     bass        electronic  decay    38.05 36.05   (slapped electric bass)
    basses/bass01 bass_acid01 bass_acid02 bass_hard01 bass_hard02 matrix1000_pluck01 rave_bass01 rave_bass03
           synth_acid01 synth_acid02       bass        synthetic   decay    36.05 39.55 36.05 32.05 36.15 35.95
                                                                            32.55 45.05 35.95 23.85
    misc/dong01, dong02, dong03            mallet      acoustic    decay    62.05 49.85 74.05   (bars: f, 4f, ~10f)
No reed sample exists. Pitch = median pyin f0 (librosa.pyin, 25-2100 Hz, on the 16 kHz mono file) over the voiced
frames within 12 dB of the peak; `python standins/source_lmms.py` re-measures it (all within 0.1 semitone, bar the
dyad). The church organs sound several octave-spaced ranks (16', 8', 4' ...), so their pitch is octave-ambiguous:
pyin on a rendered organ note may read it 12 semitones off; space_strings likewise (stacked octaves).
steel_guitar01 is a two-note dyad (spectral peaks only at G3, C4 and their harmonics): kept for its guitar timbre,
labelled with the pitch of its lower note (pyin reads the common period, C2). Left out, with the reason measured:
chords (e_piano_accord01/02, e_organ01 and heaven_strings01 are C-E-G triads, violin_double_stop01 a double stop,
rave_choir01 a chord stab); unstable, unvoiced or inharmonic pitch (bass_punch01, horror_bass01, rave_bass02/04,
techno_synth01, bell_choir01/02, nord_ambient01, korg_poly6_drone01, metalish_dong01, electric_ping01); phrases
(latin/*, bassloops/*); drums, drumsynth presets, effects, misc hits; single-cycle waveforms (shapes/, waveforms/).

Speed: about 20-40 ms a note on one core; the default (4 variants x 39 samples, render_nsynth's default grid)
is 156 instruments, about 11,600 notes (8-10 minutes on one core).

Install: apt-get install -y lmms-common (data only: it depends on zynaddsubfx-data, not on the LMMS program). Or
unpack it anywhere without installing (apt-get download lmms-common && dpkg-deb -x lmms-common_*.deb DIR) and set
LMMS_SAMPLES=DIR/usr/share/lmms/samples. Some files (harpsichord01.ogg among them) are Ogg Vorbis inside a WAVE
header, which libsndfile refuses; the Ogg stream inside is decoded instead.

Licence: Debian's copyright file for lmms-common puts everything outside data/projects/ -- the samples included --
under GPL-2+ (LMMS copyright holders); the Artistic-2, BSD-2-clause and CC-BY-SA entries cover demo projects only,
none of these samples. Debian notes an open upstream question about the licence of the whole
(https://github.com/LMMS/lmms/issues/2752); the samples carry no per-file licence or author.

Reproducible: bit-identical for a seed on one machine (numpy, soxr resampling through librosa, no threads, no
clocks); `seed` of render_notes is unused, since everything random is drawn in instruments() and kept in params.
"""
import io
import os
import sys
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf

SAMPLES = Path(os.environ.get("LMMS_SAMPLES", "/usr/share/lmms/samples"))
MAX_SHIFT = 24      # semitones up or down from the recording's own pitch
VARIANTS = 4        # instruments per sample when n_per_family is None

# (file under samples/, family, source, sustained, pitch in MIDI, split unit)
TABLE = [
    ("instruments/cello01.ogg", "string", "acoustic", True, 37.85, "cello01"),
    ("instruments/violin_fingered01.ogg", "string", "acoustic", True, 66.85, "violin_fingered01"),
    ("instruments/violin_pizzicato01.ogg", "string", "acoustic", False, 66.95, "violin_pizzicato01"),
    ("stringsnpads/strings01.ogg", "string", "synthetic", True, 60.05, "strings01"),
    ("stringsnpads/orion_string01.ogg", "string", "synthetic", True, 59.95, "orion_string01"),
    ("stringsnpads/space_strings01.ogg", "string", "synthetic", True, 35.95, "space_strings"),
    ("stringsnpads/space_strings02.ogg", "string", "synthetic", True, 35.95, "space_strings"),
    ("stringsnpads/space_strings03.ogg", "string", "synthetic", True, 36.05, "space_strings"),
    ("instruments/church_organ01.ogg", "organ", "acoustic", True, 69.05, "church_organ01"),
    ("instruments/church_organ02.ogg", "organ", "acoustic", True, 57.05, "church_organ02"),
    ("instruments/church_organ03.ogg", "organ", "acoustic", True, 44.95, "church_organ03"),
    ("instruments/church_organ04.ogg", "organ", "acoustic", True, 44.95, "church_organ04"),
    ("instruments/flute01.ogg", "flute", "acoustic", True, 80.95, "flute01"),
    ("instruments/trumpet01.ogg", "brass", "acoustic", True, 68.95, "trumpet01"),
    ("stringsnpads/chorus01.ogg", "vocal", "acoustic", True, 71.95, "chorus01"),
    ("stringsnpads/chorus02.ogg", "vocal", "acoustic", True, 56.95, "chorus02"),
    ("stringsnpads/juno_pad01.ogg", "synth_lead", "synthetic", True, 72.15, "juno_pad01"),
    ("instruments/piano01.ogg", "keyboard", "acoustic", False, 60.05, "piano01"),
    ("instruments/piano02.ogg", "keyboard", "acoustic", False, 48.05, "piano02"),
    ("instruments/harpsichord01.ogg", "keyboard", "acoustic", False, 60.05, "harpsichord01"),
    ("instruments/steel_guitar01.ogg", "guitar", "acoustic", False, 54.9, "steel_guitar01"),
    ("instruments/steel_guitar_slight_distorted01.ogg", "guitar", "electronic", False, 54.9, "steel_guitar01"),
    ("instruments/steel_guitar_medium_distorted01.ogg", "guitar", "electronic", False, 54.9, "steel_guitar01"),
    ("instruments/steel_guitar_heavy_distorted01.ogg", "guitar", "electronic", False, 54.9, "steel_guitar01"),
    ("instruments/bassslap01.ogg", "bass", "electronic", False, 38.05, "bassslap01"),
    ("instruments/bassslap02.ogg", "bass", "electronic", False, 36.05, "bassslap02"),
    ("basses/bass01.ogg", "bass", "synthetic", False, 36.05, "bass01"),
    ("basses/bass_acid01.ogg", "bass", "synthetic", False, 39.55, "bass_acid01"),
    ("basses/bass_acid02.ogg", "bass", "synthetic", False, 36.05, "bass_acid02"),
    ("basses/bass_hard01.ogg", "bass", "synthetic", False, 32.05, "bass_hard01"),
    ("basses/bass_hard02.ogg", "bass", "synthetic", False, 36.15, "bass_hard02"),
    ("basses/matrix1000_pluck01.ogg", "bass", "synthetic", False, 35.95, "matrix1000_pluck01"),
    ("basses/rave_bass01.ogg", "bass", "synthetic", False, 32.55, "rave_bass01"),
    ("basses/rave_bass03.ogg", "bass", "synthetic", False, 45.05, "rave_bass03"),
    ("basses/synth_acid01.ogg", "bass", "synthetic", False, 35.95, "synth_acid01"),
    ("basses/synth_acid02.ogg", "bass", "synthetic", False, 23.85, "synth_acid02"),
    ("misc/dong01.ogg", "mallet", "acoustic", False, 62.05, "dong01"),
    ("misc/dong02.ogg", "mallet", "acoustic", False, 49.85, "dong02"),
    ("misc/dong03.ogg", "mallet", "acoustic", False, 74.05, "dong03"),
]


def available():
    missing = [f for f, *_ in TABLE if not (SAMPLES / f).is_file()]
    if missing:
        return (f"LMMS samples not found in {SAMPLES} (e.g. {missing[0]}): apt-get install -y lmms-common, "
                f"or set LMMS_SAMPLES=<unpacked lmms-common>/usr/share/lmms/samples")
    return None


def instruments(families, n_per_family, seed):
    out = []
    for family in families:
        rows = [r for r in TABLE if r[1] == family]
        if not rows:
            continue
        order = [rows[i] for i in np.random.default_rng([seed, zlib.crc32(family.encode())]).permutation(len(rows))]
        n = VARIANTS * len(rows) if n_per_family is None else n_per_family
        for k in range(n):
            file, _, source, sustained, pitch, unit = order[k % len(order)]   # round robin over the samples
            variant = k // len(order)
            rng = np.random.default_rng([seed, zlib.crc32(file.encode()), variant])
            r = lambda lo, hi: round(float(rng.uniform(lo, hi)), 4)  # noqa: E731
            name = f"lmms_{Path(file).stem}_{variant:02d}"
            params = {"file": file, "name": name, "pitch": pitch, "sustained": sustained,
                      "distortion": "distorted" in file,
                      "tilt_db_per_octave": r(-2, 2), "detune_cents": r(-8, 8),
                      # log-uniform attack: a soft bowed/blown onset for sustained sounds, a de-click for struck ones
                      "attack_s": round(float(np.exp(rng.uniform(*np.log([0.01, 0.12] if sustained else
                                                                            [0.0005, 0.003])))), 5),
                      "release_s": r(0.1, 0.6) if sustained else r(0.05, 0.3),
                      "loop_pos": r(0, 1), "loop_len": r(0.3, 0.8), "decay_scale": r(0.8, 1.25)}
            out.append({"family": family, "source": source, "unit": unit, "name": name, "params": params})
    return out


@lru_cache(maxsize=4)
def load_sample(file):
    """-> (mono float64 starting at the onset, sample rate); cached per process (an instrument's notes share it)."""
    data = (SAMPLES / file).read_bytes()
    try:
        y, sr = sf.read(io.BytesIO(data), always_2d=True)
    except RuntimeError:    # Ogg Vorbis in a WAVE header (format tag 0x674f): decode the Ogg stream inside
        y, sr = sf.read(io.BytesIO(data[data.index(b"OggS"):]), always_2d=True)
    y = y.mean(1)
    y = y - y.mean()
    onset = int(np.argmax(np.abs(y) > 0.01 * np.abs(y).max()))      # first sample above -40 dB re peak
    return y[max(0, onset - int(0.002 * sr)):], sr


def frame_rms(y, hop):
    n = max(1, len(y) // hop)
    return np.sqrt((y[: n * hop].reshape(n, hop) ** 2).mean(1)) + 1e-12


def smooth_rms(y, win):
    """Centred moving RMS over `win` samples (slow envelope, used to hold a looped sustain flat)."""
    c = np.concatenate([[0.0], np.cumsum(y * y)])
    i = np.arange(len(y))
    lo, hi = np.maximum(i - win // 2, 0), np.minimum(i + win // 2 + 1, len(y))
    return np.sqrt((c[hi] - c[lo]) / (hi - lo)) + 1e-12


def loop_points(y, a, b, params, period, sr):
    """Loop [s, e) inside [a, b) with a whole number of periods, e refined where the crossfade windows match best;
    -> (s, e, crossfade length) or None when the stretch is too short."""
    span = b - a
    length = max(params["loop_len"] * span, min(span * 0.9, 0.05 * sr), 2 * period)
    length = max(1, round(length / period)) * period
    xf = int(np.clip(0.3 * length, 16, 0.05 * sr))
    s = max(int(a + params["loop_pos"] * max(0.0, span - length - period)), xf)
    lo, hi = int(s + length - period / 2), min(int(s + length + period / 2) + 1, len(y))
    if hi <= lo or lo - xf <= s:
        return None
    ref = y[s - xf: s]
    wins = np.lib.stride_tricks.sliding_window_view(y[lo - xf: hi], xf)       # window k ends at lo + k
    score = wins @ ref / (np.sqrt((wins ** 2).sum(1) * (ref ** 2).sum()) + 1e-12)
    return s, lo + int(np.argmax(score)), xf


def loop_extend(y, s, e, xf, n):
    """y[:e-xf], then the block [crossfade y[e-xf:e] -> y[s-xf:s], y[s:e-xf]] repeated to n samples. Every join is
    continuous: the block starts where y[:e-xf] stops and ends where the next block's crossfade starts."""
    w = np.arange(xf) / xf
    block = np.concatenate([y[e - xf: e] * (1 - w) + y[s - xf: s] * w, y[s: e - xf]])
    head = y[: e - xf]
    reps = int(np.ceil(max(0, n - len(head)) / len(block)))
    return np.concatenate([head, np.tile(block, reps)])[:n]


def render_note(params, pitch, velocity, sr, dur, off):
    import librosa
    if abs(pitch - params["pitch"]) > MAX_SHIFT:
        return None
    x, src_sr = load_sample(params["file"])
    shift = pitch + params["detune_cents"] / 100 - params["pitch"]
    f0 = 440.0 * 2 ** ((pitch + params["detune_cents"] / 100 - 69) / 12)
    # played back at sr, a recording resampled to sr / 2**(shift/12) sounds `shift` semitones higher
    y = librosa.resample(x, orig_sr=src_sr, target_sr=sr / 2 ** (shift / 12), res_type="soxr_hq")
    n, n_off, hop = int(dur * sr), int(off * sr), int(0.01 * sr)
    n_rel = int(params["release_s"] * sr)
    env = frame_rms(y, hop)
    period = sr / f0
    join, rate = None, 0.0      # join: where the loop takes over; rate: decay after it, dB per second
    if params["sustained"]:
        a = int(np.argmax(env >= env.max() / 2)) * hop                   # within 6 dB of the peak ...
        b = (len(env) - int(np.argmax(env[::-1] >= env.max() / 4))) * hop  # ... until the last 12 dB point
        a, b = a + int(0.03 * sr), min(b - int(0.03 * sr), len(y))
        if b >= n_off + n_rel and len(y) >= n:
            y = y[:n]
        else:
            loop = loop_points(y, a, b, params, period, sr)
            if loop is None:
                return None
            s, e, xf = loop
            y, join = loop_extend(y, s, e, xf, n), e - xf
    elif len(y) >= n:
        y = y[:n]
    else:
        pk = int(env.argmax())
        tail0 = pk + int(0.4 * (len(env) - pk))
        last = tail0 + int(np.nonzero(env[tail0:] >= env[tail0:].max() / 4)[0][-1])   # the tail before a final fade
        if env[last] < env.max() * 10 ** (-45 / 20):     # died away in the recording: let it end
            fade = min(len(y), int(0.005 * sr))
            y = np.concatenate([y[: len(y) - fade], y[len(y) - fade:] * np.linspace(1, 0, fade), np.zeros(n - len(y))])
        else:   # stopped while still sounding: loop the tail and keep decaying at the recording's own rate
            t_frames = np.arange(pk, last + 1) * hop / sr
            slope = np.polyfit(t_frames, 20 * np.log10(env[pk: last + 1]), 1)[0] if last - pk > 2 else -10.0
            rate = float(np.clip(-slope, 3, 40)) * params["decay_scale"]
            loop = loop_points(y, tail0 * hop, (last + 1) * hop, params, period, sr)
            if loop is None:
                return None
            s, e, xf = loop
            y, join = loop_extend(y, s, e, xf, n), e - xf
    if join is not None:   # from the first loop join on: slow envelope held at its level there, then the decay
        sm = smooth_rms(y, int(0.25 * sr))
        t = np.maximum(np.arange(n) - join, 0) / sr
        gain = np.where(np.arange(n) < join, 1.0, sm[join] / np.maximum(sm, 0.05 * sm[join]))
        y = y * gain * 10 ** (-rate * t / 20)

    # spectral tilt + velocity brightness + a 25 Hz high-pass, as one zero-phase gain curve (zero-padded FFT)
    f = np.fft.rfftfreq(2 * n, 1 / sr)
    fc = max(700.0 * 2 ** (4.5 * velocity / 127), 3 * f0)
    g = 10 ** (np.clip(params["tilt_db_per_octave"] * np.log2(np.maximum(f, 20) / 1000), -12, 12) / 20)
    g = g / np.sqrt(1 + (f / fc) ** 2) * (f / 25) ** 2 / np.sqrt(1 + (f / 25) ** 4)
    y = np.fft.irfft(np.fft.rfft(y, 2 * n) * g, 2 * n)[:n]

    t = np.arange(n) / sr
    attack = params["attack_s"] * (1 + 0.5 * (127 - velocity) / 127 * params["sustained"])   # soft = slower
    env_out = np.where(t < attack, 0.5 - 0.5 * np.cos(np.pi * t / attack), 1.0)
    env_out *= np.where(t < off, 1.0, np.exp(-6.9 * (t - off) / params["release_s"]))       # -60 dB at release_s
    env_out[t >= off + params["release_s"]] = 0.0
    y = y * env_out * (0.2 + 0.8 * (velocity / 127) ** 1.5)
    peak = float(np.abs(y).max())
    return y if np.isfinite(peak) and peak > 1e-6 else None


def render_notes(params, notes, sr, dur, off, seed):
    return [render_note(params, pitch, velocity, sr, dur, off) for pitch, velocity in notes]


def measure_pitch(y, sr, around=None):
    """Median pyin f0 (MIDI) over the voiced frames within 12 dB of the peak; nan when none. `around` (MIDI) limits
    the search to +-13 semitones of it (an octave error still shows; pyin's cost grows fast with its range)."""
    import librosa
    lo, hi = (25.0, 2100.0) if around is None else (440 * 2 ** ((around - 82) / 12), 440 * 2 ** ((around - 56) / 12))
    f0, voiced, _ = librosa.pyin(y, fmin=lo, fmax=min(hi, sr / 4), sr=sr, frame_length=2048, hop_length=512)
    env = librosa.feature.rms(y=y, frame_length=2048, hop_length=512)[0][: len(f0)]
    ok = voiced & np.isfinite(f0) & (env >= env.max() / 4)
    return float(np.median(librosa.hz_to_midi(f0[ok]))) if ok.any() else float("nan")


def click_ratio(y, sr, pitch, off):
    """Loop seams show as a jump against the waveform one period earlier: the largest |y[t] - y[t - period]| of
    each 10 ms frame over the held part, relative to the median of its 20 neighbours' (floor: 60 dB under the
    peak). About 1-3 for a smooth note; a splice half a period off gives 5-20."""
    lag = int(round(sr / (440 * 2 ** ((pitch - 69) / 12))))
    seg = y[int(0.05 * sr): int((off - 0.05) * sr)]
    hop = int(0.01 * sr)
    d = np.abs(seg[lag:] - seg[:-lag])
    k = len(d) // hop
    frames = d[: k * hop].reshape(k, hop).max(1)
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(frames, 10, mode="edge"), 21)
    neighbours = np.median(np.delete(windows, 10, axis=1), axis=1)
    return float((frames / (neighbours + 1e-3 * np.abs(y).max())).max())


if __name__ == "__main__":
    # sanity check by numbers: the table's pitch against pyin on the whole file, then notes of each sample at -12, 0
    # and +12 semitones (velocity 100): length, pyin pitch error, click ratio (see click_ratio)
    import librosa
    if available():
        sys.exit(available())
    sr = 16000
    files = sys.argv[1:] or [r[0] for r in TABLE]
    for file, family, source, sustained, pitch, unit in TABLE:
        if file not in files:
            continue
        x, src_sr = load_sample(file)
        measured = measure_pitch(librosa.resample(x, orig_sr=src_sr, target_sr=sr), sr)
        params = next(i["params"] for i in instruments([family], 4 * len(TABLE), 0) if i["params"]["file"] == file)
        line = f"{file:50s} {family:10s} table {pitch:6.2f} pyin {measured:6.2f} |"
        for p in [p for p in (round(pitch) - 12, round(pitch), round(pitch) + 12) if 21 <= p <= 108]:
            y = render_note(params, p, 100, sr, 4.0, 3.0)
            if y is None:
                line += f" {p}: None |"
                continue
            err = measure_pitch(y, sr, around=p) - p
            line += f" {p}: len {len(y)} err {err:+.2f} click {click_ratio(y, sr, p, 3.0):.1f} |"
        print(line, flush=True)
