"""
Faust physical models as an instrument source for standins/render_nsynth.py (--sources faust, source "synthetic").

What it renders: waveguide and formant models of the Faust libraries (physmodels.lib, shipped inside the DawDreamer
wheel), compiled by DawDreamer's Faust JIT. Our own small wrappers drive the library models (the library's *_ui_MIDI
versions clamp the pitch to 50-1000 Hz): freq and gain are set per note, the gate is automated (on for `off` s),
and every note is one render (DawDreamer clears the DSP state before each render, so notes never leak).
    model                      family   per-instrument random parameters
    clarinet                   reed     reed stiffness, bell opening, vibrato, attack
    brass                      brass    mute, vibrato, attack (lips tension 0.5: it detunes by +-2 semitones)
    flute                      flute    mouth position, vibrato, attack
    violin                     string   bow pressure, bow position, vibrato, attack
    guitar, nylonGuitar,       guitar   pluck position
    elecGuitar
    SFFormantModelFofSmooth,   vocal    voice type (alto, bass, countertenor, soprano, tenor) x vowel (a e i o u),
    SFFormantModelBP                    vibrato, attack (BP: fricative noise)
Velocity sets the breath / bow / pluck / voice gain. Split unit = the model (all instruments of one model go to the
same split). Tuning: the waveguides render at 48 kHz (they are tuned for it; at 16 kHz they play up to 4 semitones
flat) and are resampled; the brass model only speaks with 32-64 samples per period, so each brass note renders at
48 kHz times the power of two that puts it there, with its measured drift (+1.35 cent per sample of period)
corrected; the flute's tube length follows a fit made here (f = 490.4 / (L + 0.342) m at mouth position 0.5).
Where a model can't sound a pitch (brass and guitars at the bottom, the flute above MIDI 88, a violin jumping an
octave ...), the note is None: a note counts only when it is periodic at the requested pitch, i.e. its normalised
autocorrelation peaks (> 0.6) within +-3 % of the period (searching +-15 %) and is lower (by 0.1, and < 0.8) at
1/2 ... 1/6 of the period (not an octave or a twelfth up, not a slow drift).

Install:  pip install dawdreamer     (the Faust compiler and libraries are inside the wheel)
Licences: DawDreamer GPL-3; Faust libraries GPL/LGPL with the Faust exception (imported / compiled only by the render
child process).
Process isolation: compiling Faust in a process that has loaded the ZynAddSubFX plugin aborts, so the models run in
a child process of their own (this file with --child, one per calling process, fed JSON jobs on stdin). It compiles
each model once (the formant voices take 10-20 s, the waveguides under 1 s) and keeps it.
Reproducibility: no random state survives between renders and parameters are drawn from (seed, family, k):
renders are bit-identical for a seed.
Sanity check by numbers: python standins/source_faust.py --check  (peak, RMS envelope, centroid, pitch per model)
"""
import importlib.util
import sys
import zlib
from math import gcd

import numpy as np

from render_common import child_render, serve_child

HEAD = """import("stdfaust.lib");
freq = hslider("freq", 440, 10, 20000, 0.01);
gain = hslider("gain", 0.8, 0, 1, 0.001);
gate = button("gate");
envAttack = hslider("envAttack", 1, 0, 100, 0.01) * 0.001;
vibratoFreq = hslider("vibratoFreq", 5, 0, 10, 0.01);
vibratoGain = hslider("vibratoGain", 0.3, 0, 1, 0.01);
envelope = gate * gain : si.smooth(ba.tau2pole(envAttack));
"""
PLUCK = 'pluckPosition = hslider("pluckPosition", 0.8, 0, 1, 0.01);\n'
VOICE = 'voiceType = hslider("voiceType", 0, 0, 4, 1); vowel = hslider("vowel", 0, 0, 4, 1);\n' \
        'voiceFreq = freq * (1 + os.osc(vibratoFreq) * vibratoGain * 0.1);\n'
VIBRATO = {"vibratoFreq": (4.0, 6.5), "vibratoGain": (0.0, 0.6), "envAttack": (1.0, 40.0)}
# name: (family, velocity -> gain range, random parameter ranges, Faust code after HEAD)
MODELS = {
    "clarinet": ("reed", (0.55, 1.0), dict(VIBRATO, reedStiffness=(0.2, 0.8), bellOpening=(0.2, 0.8)), """
reedStiffness = hslider("reedStiffness", 0.5, 0, 1, 0.01); bellOpening = hslider("bellOpening", 0.5, 0, 1, 0.01);
vibrato = 1 + os.osc(vibratoFreq) * vibratoGain * 0.01 * envelope;
process = pm.clarinetModel(freq * vibrato : pm.f2l, pm.blower(envelope, 0.05, 2000, vibratoFreq, vibratoGain * 0.01),
                           reedStiffness, bellOpening);"""),
    "brass": ("brass", (0.4, 1.0), dict(VIBRATO, mute=(0.0, 1.0)), """
mute = hslider("mute", 0.5, 0, 1, 0.01);
tuned = freq * pow(2, -1.35 * (ma.SR / freq - 31) / 1200);   // measured: +1.35 cent per sample of period above 31
process = pm.brassModel(tuned : pm.f2l, 0.5, mute, envelope * (1 + os.osc(vibratoFreq) * vibratoGain * 0.04));"""),
    "flute": ("flute", (0.5, 1.0), dict(VIBRATO, mouthPosition=(0.4, 0.6)), """
mouthPosition = hslider("mouthPosition", 0.5, 0, 1, 0.01);
process = pm.fluteModel(max(0.02, 490.4 / freq - 0.342), mouthPosition,
                        pm.blower(envelope, 0.05, 2000, vibratoFreq, vibratoGain * 0.04));"""),
    "violin": ("string", (0.5, 1.0), dict(VIBRATO, bowPress=(0.3, 0.7), bowPos=(0.5, 0.85)), """
bowPress = hslider("bowPress", 0.5, 0, 1, 0.01); bowPos = hslider("bowPos", 0.7, 0, 1, 0.01);
process = pm.violinModel(freq * (1 + os.osc(vibratoFreq) * vibratoGain * 0.01 * envelope) : pm.f2l,
                         bowPress, envelope, bowPos);"""),
    "guitar": ("guitar", (0.3, 1.0), {"pluckPosition": (0.55, 0.95)},
               PLUCK + "process = pm.guitar(freq : pm.f2l, pluckPosition, gain, gate);"),
    "nylonGuitar": ("guitar", (0.3, 1.0), {"pluckPosition": (0.55, 0.95)},
                    PLUCK + "process = pm.nylonGuitar(freq : pm.f2l, pluckPosition, gain, gate);"),
    "elecGuitar": ("guitar", (0.3, 1.0), {"pluckPosition": (0.55, 0.95)},
                   PLUCK + "process = pm.elecGuitar(freq : pm.f2l, pluckPosition, 1, gain, gate);"),
    "SFFormantModelFofSmooth": ("vocal", (0.3, 1.0), VIBRATO, VOICE + """
process = pm.SFFormantModelFofSmooth(voiceType, vowel, voiceFreq, envelope * 25);"""),
    "SFFormantModelBP": ("vocal", (0.3, 1.0), dict(VIBRATO, fricative=(0.0, 0.3)), VOICE + """
fricative = hslider("fricative", 0, 0, 1, 0.01);
process = pm.SFFormantModelBP(voiceType, vowel, fricative, voiceFreq, envelope);"""),
}
DEFAULT_PER_FAMILY = 12


def model_sr(model, f0, sr):
    """Sample rate a note is rendered at (see the docstring)."""
    if model.startswith("SFFormant"):
        return sr
    if model == "brass":   # speaks at 48 kHz for 750-1500 Hz (32-64 samples a period): move the note there
        return int(48000 * 2.0 ** min(1, max(-3, round(np.log2(f0 / 1060)))))
    return 48000


def available():
    if importlib.util.find_spec("dawdreamer") is None:
        return "DawDreamer missing (it carries the Faust compiler and libraries): pip install dawdreamer"
    return None


def instruments(families, n_per_family, seed):
    out = []
    for family in sorted({m[0] for m in MODELS.values()} & set(families)):
        models = [name for name, m in MODELS.items() if m[0] == family]
        rng = np.random.default_rng([seed, zlib.crc32(family.encode())])
        voices = rng.permutation(len(models) * 25)   # vocal: (model, voice type, vowel) without repeats first
        for k in range(DEFAULT_PER_FAMILY if n_per_family is None else n_per_family):
            model = models[voices[k % len(voices)] // 25] if family == "vocal" else models[k % len(models)]
            values = {p: round(float(rng.uniform(lo, hi)), 3) for p, (lo, hi) in sorted(MODELS[model][2].items())}
            if family == "vocal":
                values.update(voiceType=int(voices[k % len(voices)] % 25 // 5), vowel=int(voices[k % len(voices)] % 5))
            out.append({"family": family, "source": "synthetic", "unit": model, "name": f"{model} {k:03d}",
                        "params": {"model": model, "values": values}})
    return out


def in_tune(y, sr, f0):
    """Periodic at the requested pitch, and not at a fraction of its period (an octave or a twelfth up, a drift),
    over the loudest 0.4 s of the note and, if still audible, over 1.5-1.9 s (see the docstring)."""
    from scipy.signal import resample_poly
    if y is None or not np.all(np.isfinite(y)) or np.abs(y).max() < 1e-4:
        return False
    hop, n = int(0.05 * sr), int(0.4 * sr)
    rms = np.array([np.sqrt(np.mean(y[i: i + n] ** 2)) for i in range(0, int(2.6 * sr), hop)])
    starts = {int(np.argmax(rms)) * hop} | ({int(1.5 * sr)} if rms[30] > 0.05 * rms.max() else set())
    up = min(16, int(np.ceil(64 * f0 / sr)))      # upsample so that the period spans >= 64 samples
    period = sr / f0 * up
    for start in starts:
        x = resample_poly(y[start: start + n], up, 1) if up > 1 else y[start: start + n]
        # normalised autocorrelation of x[:-lag] with x[lag:], every lag at once (FFT, cumulative energies)
        ac = np.fft.irfft(np.abs(np.fft.rfft(x, 2 * len(x))) ** 2)[: len(x)]
        energy = np.concatenate([[0.0], np.cumsum(x ** 2)])
        lag = np.arange(len(x))
        r = ac / (np.sqrt(energy[len(x) - lag] * (energy[-1] - energy[lag])) + 1e-12)
        lags = np.arange(int(period * 0.85), int(np.ceil(period * 1.15)) + 1)
        best, best_lag = r[lags].max(), lags[int(np.argmax(r[lags]))]
        below = max(r[int(round(period / m))] for m in range(2, 7))
        if best < 0.6 or abs(best_lag / period - 1) > 0.03 or below >= min(0.8, best - 0.1):
            return False
    return True


def render_notes(params, notes, sr, dur, off, seed):
    """Render every note of one instrument in the Faust child process; None where the model can't sound it."""
    job = {"params": params, "notes": [[int(p), int(v)] for p, v in notes], "sr": int(sr), "dur": float(dur),
           "off": float(off)}
    ys = child_render(__file__, job, "Faust", f"Faust model {params['model']}")
    return [y if in_tune(y, sr, 440 * 2 ** ((p - 69) / 12)) else None for (p, _), y in zip(notes, ys)]


# ---- the Faust side: runs only in the child process (or in --check) ----
_compiled = {}   # (model, sample rate) -> (engine, processor, {short name: parameter path})


def render_job(job):
    """-> float32 array (notes, dur * sr) for one job."""
    import dawdreamer
    from scipy.signal import resample_poly
    model, values, sr = job["params"]["model"], job["params"]["values"], job["sr"]
    g_lo, g_hi = MODELS[model][1]
    out = np.zeros((len(job["notes"]), int(job["dur"] * sr)), np.float32)
    for k, (pitch, velocity) in enumerate(job["notes"]):
        f0 = 440 * 2 ** ((pitch - 69) / 12)
        model_rate = model_sr(model, f0, sr)
        if (model, model_rate) not in _compiled:
            engine = dawdreamer.RenderEngine(model_rate, 128)
            processor = engine.make_faust_processor(f"{model}_{model_rate}")
            processor.set_dsp_string(HEAD + MODELS[model][3])
            if not processor.compile():
                raise RuntimeError(f"Faust could not compile model {model}")
            engine.load_graph([(processor, [])])
            paths = {d["name"].rsplit("/", 1)[-1]: d["name"] for d in processor.get_parameters_description()}
            _compiled[(model, model_rate)] = (engine, processor, paths)
        engine, processor, paths = _compiled[(model, model_rate)]
        for name, value in values.items():
            processor.set_parameter(paths[name], float(value))
        processor.set_parameter(paths["freq"], f0)
        processor.set_parameter(paths["gain"], g_lo + (g_hi - g_lo) * velocity / 127)
        gate = np.zeros(int(job["dur"] * model_rate), np.float32)
        gate[: int(job["off"] * model_rate)] = 1
        processor.set_automation(paths["gate"], gate)
        engine.render(job["dur"])
        y = engine.get_audio()[0].astype(np.float64)
        if model_rate != sr:
            g = gcd(sr, model_rate)
            y = resample_poly(y, sr // g, model_rate // g)
        y = y[: out.shape[1]]
        out[k, : len(y)] = y
    return out


def child_main():
    serve_child(render_job)


def check():
    """Print, for one instrument per model, peak, centroid, pitch and RMS envelope over MIDI 21-108."""
    sr, notes = 16000, [(p, 100) for p in range(21, 109, 6)]
    for model in MODELS:
        inst = next(i for i in instruments([MODELS[model][0]], 20, 0) if i["params"]["model"] == model)
        ys = render_notes(inst["params"], notes, sr, 4.0, 3.0, 0)
        print(f"{inst['name']} {inst['params']['values']}: sounds at",
              [p for (p, _), y in zip(notes, ys) if y is not None])
        for (pitch, velocity), y in zip(notes, ys):
            if y is None or pitch % 12 != 9:
                continue
            env = np.sqrt((y.reshape(8, -1) ** 2).mean(1))
            spec = np.abs(np.fft.rfft(y[8000:40000]))
            centroid = (spec * np.fft.rfftfreq(32000, 1 / sr)).sum() / spec.sum()
            print(f"    {pitch:3d}/{velocity:3d} peak {np.abs(y).max():.3f} centroid {centroid:5.0f} Hz  rms "
                  + " ".join(f"{e:.3f}" for e in env))


if __name__ == "__main__":
    if "--child" in sys.argv:
        child_main()
    elif "--check" in sys.argv:
        sys.exit(available() or check())
    else:
        sys.exit("usage: python standins/source_faust.py --check   (render_nsynth.py runs it as --child)")
