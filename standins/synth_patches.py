"""
Synthetic-instrument generator for the NSynth stand-in (instrument_source = "synthetic").

About a quarter of NSynth's notes come from synthesizer patches (synth basses, synthetic keyboards, flutes, vocals,
leads ...), which General-MIDI SoundFonts barely contain. This module makes such patches with numpy/scipy only:

  engines   subtractive  band-limited saw / square / pulse / triangle (additive, so no aliasing) through a resonant
                         2-pole low-pass whose cutoff follows a filter envelope, key tracking and velocity
            wavetable    a random harmonic table morphing into a second table over the note
            fm           2-operator FM (carrier:modulator ratio, decaying modulation index)
            pluck        Karplus-Strong string (lfilter delay line with fractional-delay averaging loss filter)
            additive     organ drawbars (16', 5 1/3', 8', 4', 2 2/3', 2', 1 3/5', 1 1/3', 1'), modal bars/bells
            formant      glottal-pulse spectrum through vowel formant resonances (vocal)
  per family (family-typical envelopes and timbres; every choice randomised per instrument):
    bass        low-passed saw/square/FM with a plucky filter envelope, decay to a low sustain, or a KS pluck
    brass       saw with a swelling attack, cutoff opening with the envelope and velocity (brighter when loud)
    flute       sine/triangle-ish harmonics + band-passed breath noise, delayed vibrato, soft attack
    guitar      Karplus-Strong pluck (brightness, decay, pick position), optional tanh overdrive
    keyboard    decaying FM electric piano, decaying additive piano-like partials (slight inharmonicity), clav pulse
    mallet      FM bell (inharmonic ratio) or modal bar partials (1, 2.76, 5.40, 8.93 ...), fast decay
    organ       additive drawbars, no decay, optional rotary tremolo and key click
    reed        odd-harmonic-heavy spectrum (clarinet-like) or nasal saw, breath noise, vibrato
    string      saw (1-3 detuned) + vibrato + slow attack, gentle low-pass
    synth_lead  detuned saws/squares, resonant filter, portamento glide into the note, vibrato
    vocal       formant filters on a glottal pulse, vibrato, breathiness, slow attack
Every note is held for `off` seconds (NSynth: 3 s of 4 s) and then released with the patch's release time.

Deterministic: make_patch(family, instrument_seed) draws all parameters from the seed; render_note(patch, pitch,
velocity) seeds its noise from (instrument seed, pitch, velocity). Output is float32 mono, unnormalised
(render_nsynth.py normalises loudness).
"""
import numpy as np
from scipy.signal import lfilter, butter, sosfilt, resample_poly

FAMILIES = ["bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string", "synth_lead", "vocal"]

# vowel formants (Hz, bandwidth Hz, gain) for a generic adult voice; the vocal patch picks one or morphs between two
VOWELS = {
    "a": [(800, 80, 1.0), (1150, 90, 0.5), (2900, 120, 0.25), (3900, 130, 0.1), (4950, 140, 0.05)],
    "e": [(400, 60, 1.0), (1700, 80, 0.4), (2600, 120, 0.25), (3200, 120, 0.15), (4950, 120, 0.05)],
    "i": [(270, 60, 1.0), (2140, 90, 0.3), (2950, 100, 0.2), (3900, 120, 0.1), (4950, 120, 0.05)],
    "o": [(450, 70, 1.0), (800, 80, 0.6), (2830, 100, 0.1), (3500, 130, 0.05), (4950, 135, 0.02)],
    "u": [(325, 50, 1.0), (700, 60, 0.3), (2530, 170, 0.05), (3500, 180, 0.03), (4950, 200, 0.01)],
}


def midi_to_hz(p):
    return 440.0 * 2.0 ** ((np.asarray(p, dtype=np.float64) - 69.0) / 12.0)


def adsr(t, a, d, s, r, off):
    """Linear attack, exponential decay to sustain s, exponential release after `off`; vectorised over t."""
    a = max(a, 1e-3)
    env = np.where(t < a, t / a, s + (1.0 - s) * np.exp(-(t - a) / max(d, 1e-3)))
    at_off = (off / a) if off < a else s + (1.0 - s) * np.exp(-(off - a) / max(d, 1e-3))
    rel = at_off * np.exp(-(t - off) / max(r, 1e-3))
    return np.where(t < off, env, rel)


def lp2_mag(f, fc, q):
    """Magnitude of a resonant 2-pole low-pass at frequency f (arrays broadcast)."""
    x = f / fc
    return 1.0 / np.sqrt((1.0 - x * x) ** 2 + (x / q) ** 2)


def source_amps(kind, k, width=0.5, tilt=1.0):
    """Harmonic amplitudes 1..K of a band-limited waveform."""
    k = k.astype(np.float64)
    if kind == "saw":
        return 1.0 / k
    if kind == "square":
        return np.where(k % 2 == 1, 1.0 / k, 0.0)
    if kind == "pulse":
        return np.abs(np.sin(np.pi * k * width)) / k
    if kind == "triangle":
        return np.where(k % 2 == 1, 1.0 / k ** 2, 0.0)
    if kind == "glottal":
        return 1.0 / k ** (1.0 + tilt)
    if kind == "odd":  # clarinet-like: strong odd, weak even harmonics
        return np.where(k % 2 == 1, 1.0 / k, 0.15 / k)
    raise ValueError(kind)


def additive(f0_t, amp_fn, sr, kmax=160, ratios=None, chunk=24):
    """Sum of partials. f0_t: (T,) instantaneous fundamental (Hz). amp_fn(ks, freqs) -> (len(ks), T) amplitudes, where
    freqs is (len(ks), T) instantaneous partial frequency. ratios: partial frequency ratios (default harmonic 1..K)."""
    phase = 2 * np.pi * np.cumsum(f0_t) / sr
    fmax = float(f0_t.max())
    if ratios is None:
        K = int(min(kmax or 1000, np.floor(0.47 * sr / fmax)))
        ratios = np.arange(1, max(K, 1) + 1, dtype=np.float64)
    ratios = np.asarray(ratios, dtype=np.float64)
    ratios = ratios[ratios * fmax < 0.47 * sr]
    out = np.zeros_like(f0_t)
    for i in range(0, len(ratios), chunk):
        r = ratios[i:i + chunk, None]
        amps = amp_fn(np.arange(i + 1, i + 1 + len(r)), r * f0_t[None, :])
        out += (amps * np.sin(r * phase[None, :] + 0.7 * r)).sum(0)  # fixed phase offsets, less peaky than all-zero
    return out


def pitch_track(t, f0, vib_rate=0.0, vib_depth=0.0, vib_delay=0.0, glide_st=0.0, glide_time=0.05, drift=0.0):
    """Instantaneous frequency with delayed vibrato (depth in semitones) and an exponential glide into the note."""
    st = vib_depth * np.sin(2 * np.pi * vib_rate * t) * np.clip((t - vib_delay) / 0.3, 0.0, 1.0)
    st = st + glide_st * np.exp(-t / max(glide_time, 1e-3)) + drift * t
    return f0 * 2.0 ** (st / 12.0)


def karplus_strong(f0, sr, dur, rng, decay_s, bright, pick_pos):
    """Plucked string: noise burst into a delay line with a 2-tap averaging loss filter (fractional delay by linear
    interpolation). Oversampled for high notes so the tuning stays accurate."""
    os_ = 1 if sr / f0 > 64 else (4 if sr / f0 > 8 else 16)
    srx = sr * os_
    P = srx / f0
    N = int(np.floor(P))
    c = 1.0 - (P - N)  # weight of the z^-N tap; the two taps together delay by about N + (1 - c) = P samples
    n = int(dur * srx)
    g = np.exp(-P / (decay_s * srx) * 6.9)  # -60 dB after about decay_s seconds
    burst = rng.standard_normal(N + 1)
    burst = lfilter([bright], [1.0, -(1.0 - bright)], burst)  # one-pole low-pass: darker pick
    m = max(1, int(pick_pos * N))
    burst = burst - np.roll(burst, m)  # pick-position comb
    x = np.zeros(n)
    x[: len(burst)] = burst
    a = np.zeros(N + 2)
    a[0] = 1.0
    a[N] = -g * c
    a[N + 1] = -g * (1.0 - c)
    y = lfilter([1.0], a, x)
    if os_ > 1:
        y = resample_poly(y, 1, os_)[: int(dur * sr)]
    return y


def make_patch(family, seed):
    """All random choices of one synthetic instrument, drawn from its seed."""
    rng = np.random.default_rng([int(seed), FAMILIES.index(family), 7919])
    u = rng.uniform
    p = {"family": family, "seed": int(seed), "distortion": 0.0, "noise": 0.0, "vib_rate": u(4.5, 6.5),
         "vib_depth": 0.0, "vib_delay": u(0.1, 0.6), "glide": 0.0, "tremolo": 0.0, "release": u(0.05, 0.4)}
    if family == "bass":
        p["engine"] = rng.choice(["subtractive", "subtractive", "fm", "pluck", "wavetable"])
        p["wave"] = rng.choice(["saw", "square", "pulse"])
        p.update(width=u(0.1, 0.5), cut_mult=u(1.5, 6.0), env_amt=u(2.0, 20.0), fdecay=u(0.05, 0.5), q=u(0.7, 6.0),
                 a=u(0.002, 0.02), d=u(0.2, 1.5), s=u(0.0, 0.6), sub=u(0.0, 0.8), fm_ratio=rng.choice([0.5, 1.0, 2.0]),
                 fm_index=u(0.5, 4.0), fm_idecay=u(0.05, 0.6), ks_decay=u(0.8, 3.0), ks_bright=u(0.2, 0.7),
                 distortion=u(0, 1.5) if u() < 0.3 else 0.0)
    elif family == "brass":
        p["engine"] = rng.choice(["subtractive", "subtractive", "fm"])
        p["wave"] = rng.choice(["saw", "saw", "pulse"])
        p.update(width=u(0.3, 0.5), cut_mult=u(1.0, 3.0), env_amt=u(3.0, 12.0), fattack=u(0.05, 0.3),
                 fdecay=u(0.3, 1.5), q=u(0.7, 2.5), a=u(0.03, 0.15), d=u(0.5, 2.0), s=u(0.6, 0.95),
                 glide=-u(0.2, 1.0) if u() < 0.6 else 0.0, vib_depth=u(0.0, 0.15), fm_ratio=1.0,
                 fm_index=u(1.5, 5.0), fm_idecay=u(0.3, 2.0))
    elif family == "flute":
        p["engine"] = "breath"
        p.update(wave=rng.choice(["sine", "triangle", "soft"]), noise=u(0.05, 0.4), a=u(0.03, 0.15), d=u(0.5, 2.0),
                 s=u(0.7, 1.0), vib_depth=u(0.05, 0.3), noise_q=u(2.0, 10.0), h2=u(0.0, 0.4), h3=u(0.0, 0.2))
    elif family == "guitar":
        p["engine"] = "pluck"
        p.update(ks_decay=u(1.0, 6.0), ks_bright=u(0.15, 0.9), pick=u(0.05, 0.45), body=u(0.0, 0.6),
                 distortion=u(1.0, 8.0) if u() < 0.35 else 0.0)
    elif family == "keyboard":
        p["engine"] = rng.choice(["fm", "partials", "subtractive", "wavetable"])
        p.update(wave="pulse", width=u(0.05, 0.3), cut_mult=u(2.0, 8.0), env_amt=u(2.0, 10.0), fdecay=u(0.1, 0.6),
                 q=u(0.7, 3.0), a=u(0.001, 0.01), d=u(0.5, 3.0), s=u(0.0, 0.25), fm_ratio=rng.choice([1.0, 1.0, 14.0, 3.0]),
                 fm_index=u(0.5, 3.5), fm_idecay=u(0.1, 1.0), inharm=u(0.0, 4e-4), tilt=u(0.6, 1.6),
                 tremolo=u(0.0, 0.3) if u() < 0.3 else 0.0)
    elif family == "mallet":
        p["engine"] = rng.choice(["fm_bell", "modal"])
        p.update(a=u(0.0005, 0.004), d=u(0.2, 1.5), s=0.0, fm_ratio=rng.choice([1.4, 2.0, 3.5, 3.9, 4.0, 7.0]),
                 fm_index=u(1.0, 6.0), fm_idecay=u(0.05, 0.5),
                 ratios=rng.choice([0, 1, 2]), pdecay=u(0.2, 1.5), tremolo=u(0.0, 0.5) if u() < 0.3 else 0.0)
    elif family == "organ":
        p["engine"] = "drawbar"
        bars = rng.integers(0, 9, size=9).astype(float)
        bars[2] = max(bars[2], 4)  # 8' fundamental always present
        p.update(bars=bars.tolist(), a=u(0.005, 0.05), d=1.0, s=1.0, release=u(0.02, 0.15),
                 tremolo=u(0.0, 0.25) if u() < 0.5 else 0.0, click=u(0.0, 0.3), vib_depth=u(0.0, 0.08))
    elif family == "reed":
        p["engine"] = "subtractive"
        p.update(wave=rng.choice(["odd", "odd", "saw", "pulse"]), width=u(0.1, 0.3), cut_mult=u(3.0, 10.0),
                 env_amt=u(0.5, 3.0), fattack=u(0.03, 0.15), fdecay=u(0.5, 2.0), q=u(0.7, 3.0), a=u(0.02, 0.1),
                 d=u(0.5, 2.0), s=u(0.7, 1.0), noise=u(0.02, 0.15), vib_depth=u(0.03, 0.2), noise_q=u(1.0, 4.0))
    elif family == "string":
        p["engine"] = rng.choice(["subtractive", "subtractive", "wavetable"])
        p.update(wave="saw", voices=int(rng.integers(1, 4)), detune=u(3.0, 15.0), cut_mult=u(3.0, 12.0),
                 env_amt=u(0.5, 2.0), fattack=u(0.1, 0.6), fdecay=u(1.0, 3.0), q=u(0.6, 1.5), a=u(0.08, 0.5),
                 d=u(1.0, 3.0), s=u(0.7, 1.0), vib_depth=u(0.05, 0.25), release=u(0.2, 0.8))
    elif family == "synth_lead":
        p["engine"] = rng.choice(["subtractive", "subtractive", "fm", "wavetable"])
        p.update(wave=rng.choice(["saw", "square", "pulse"]), width=u(0.1, 0.5), voices=int(rng.integers(1, 4)),
                 detune=u(5.0, 30.0), cut_mult=u(2.0, 16.0), env_amt=u(0.0, 8.0), fattack=u(0.005, 0.1),
                 fdecay=u(0.1, 1.0), q=u(0.7, 8.0), a=u(0.002, 0.05), d=u(0.2, 2.0), s=u(0.5, 1.0),
                 glide=u(-7.0, 7.0) if u() < 0.6 else 0.0, glide_time=u(0.03, 0.2), vib_depth=u(0.0, 0.4),
                 fm_ratio=rng.choice([1.0, 2.0, 0.5, 3.0]), fm_index=u(0.5, 4.0), fm_idecay=u(0.3, 3.0),
                 distortion=u(0.5, 3.0) if u() < 0.3 else 0.0)
    elif family == "vocal":
        p["engine"] = "formant"
        vs = list(VOWELS)
        p.update(vowel=vs[int(rng.integers(len(vs)))], vowel2=vs[int(rng.integers(len(vs)))], tilt=u(0.3, 1.2),
                 fshift=u(0.85, 1.25), bw_mult=u(0.8, 2.0), a=u(0.05, 0.3), d=u(1.0, 3.0), s=u(0.7, 1.0),
                 vib_depth=u(0.1, 0.4), noise=u(0.0, 0.2), release=u(0.1, 0.5))
    else:
        raise ValueError(f"unknown family {family}")
    if p["engine"] == "wavetable":
        p["table1"] = (rng.uniform(0, 1, 48) / np.arange(1, 49) ** u(0.5, 1.5)).tolist()
        p["table2"] = (rng.uniform(0, 1, 48) / np.arange(1, 49) ** u(0.5, 1.5)).tolist()
        p["morph"] = u(0.3, 3.0)
    return p


def _formant_mag(f, vowel, fshift, bw_mult):
    mag = np.zeros_like(f)
    for fc, bw, g in VOWELS[vowel]:
        fc = fc * fshift
        bw = bw * bw_mult
        mag = mag + g / np.sqrt(1.0 + ((f - fc) / (bw / 2)) ** 2)
    return mag + 0.01


def _bandnoise(rng, n, sr, lo, hi):
    lo, hi = max(lo, 30.0), min(hi, 0.45 * sr)
    if hi <= lo * 1.05:
        lo, hi = 0.3 * hi, hi
    sos = butter(2, [lo, hi], btype="band", fs=sr, output="sos")
    return sosfilt(sos, rng.standard_normal(n))


def render_note(p, pitch, velocity, sr=16000, dur=4.0, off=3.0):
    """One note of patch p (from make_patch): float32 mono, len dur*sr."""
    rng = np.random.default_rng([p["seed"], FAMILIES.index(p["family"]), int(pitch), int(velocity), 104729])
    n = int(dur * sr)
    t = np.arange(n) / sr
    vel = velocity / 127.0
    f0 = float(midi_to_hz(pitch))
    eng = p["engine"]
    amp = adsr(t, p.get("a", 0.01), p.get("d", 1.0), p.get("s", 1.0), p["release"], off)
    f0_t = pitch_track(t, f0, p["vib_rate"], p["vib_depth"], p["vib_delay"], p["glide"], p.get("glide_time", 0.08))

    def filt_cut(fattack=0.0):
        # cutoff follows key, velocity and a filter envelope (attack-decay)
        fenv = np.clip(t / max(fattack, 1e-3), 0, 1) * np.exp(-np.maximum(t - fattack, 0) / p["fdecay"])
        cut = f0 * p["cut_mult"] * (0.5 + vel) * (1.0 + p["env_amt"] * fenv)
        return np.clip(cut, 40.0, 0.45 * sr)

    if eng in ("subtractive", "wavetable"):
        cut = filt_cut(p.get("fattack", 0.0))
        if eng == "wavetable":
            t1, t2 = np.array(p["table1"]), np.array(p["table2"])
            mix = 0.5 - 0.5 * np.cos(2 * np.pi * t / (2 * p["morph"]))

            def src(k):
                kk = np.minimum(k, 48) - 1
                return t1[kk][:, None] * (1 - mix[None]) + t2[kk][:, None] * mix[None]
        else:
            def src(k):
                return source_amps(p["wave"], k, p.get("width", 0.5))[:, None]
        q = p.get("q", 1.0)
        y = 0.0
        voices = p.get("voices", 1)
        for v in range(voices):
            det = 0.0 if voices == 1 else (v / (voices - 1) - 0.5) * p["detune"]
            fv = f0_t * 2.0 ** (det / 1200.0)
            y = y + additive(fv, lambda k, fr: src(k) * lp2_mag(fr, cut[None, :], q), sr)
        if p["family"] == "bass" and p.get("sub", 0) > 0:
            y = y + p["sub"] * 0.5 * np.sin(np.pi * np.cumsum(f0_t) / sr)
    elif eng in ("fm", "fm_bell"):
        ratio = p["fm_ratio"]
        idx = p["fm_index"] * (0.4 + 0.8 * vel) * np.exp(-t / p["fm_idecay"])
        if eng == "fm" and p["family"] in ("brass", "synth_lead"):
            idx = p["fm_index"] * (0.3 + 0.7 * vel) * np.minimum(amp, 1.0)  # brightness follows loudness
        idx = idx * min(1.0, 2000.0 / (f0 * ratio))  # tame aliasing for high notes
        ph = 2 * np.pi * np.cumsum(f0_t) / sr
        y = np.sin(ph + idx * np.sin(ratio * ph))
        if p["family"] == "keyboard":
            y = y + 0.3 * np.sin(2 * ph + 0.5 * idx * np.sin(ph))
    elif eng == "partials":  # piano-like: stiff-string partials, higher partials decay faster
        B = p["inharm"]
        K = 40
        ks = np.arange(1, K + 1, dtype=np.float64)
        ratios = ks * np.sqrt(1 + B * ks ** 2)
        decays = p["d"] * 3.0 / (1.0 + 0.3 * ks) * (1.0 + 2.0 * (pitch < 48))
        y = additive(f0_t, lambda k, fr: (k.astype(float) ** -p["tilt"] * (0.4 + vel) ** (0.2 * k))[:, None]
                     * np.exp(-t[None, :] / decays[k - 1][:, None]), sr, ratios=ratios)
        amp = adsr(t, p["a"], 10.0, 1.0, p["release"], off)
    elif eng == "modal":
        table = [[1.0, 2.76, 5.40, 8.93], [1.0, 3.93, 9.54, 17.7], [1.0, 2.0, 3.0, 4.16, 5.43]][p["ratios"]]
        ratios = np.array(table)
        gains = np.array([1.0, 0.5, 0.3, 0.2, 0.1])[: len(ratios)] * (0.5 + vel)
        y = additive(f0_t, lambda k, fr: gains[k - 1][:, None] * np.exp(-t[None, :] * k[:, None] / p["pdecay"]),
                     sr, ratios=ratios)
        amp = adsr(t, p["a"], 10.0, 1.0, p["release"], off)
    elif eng == "pluck":
        y = karplus_strong(f0, sr, dur, rng, p["ks_decay"], p.get("ks_bright", 0.5) * (0.6 + 0.4 * vel),
                           p.get("pick", 0.2))
        if p.get("body", 0) > 0:  # crude body resonance
            y = y + p["body"] * lfilter(*butter(2, [90, 300], btype="band", fs=sr), y)
        amp = np.where(t < off, 1.0, np.exp(-(t - off) / 0.08))
    elif eng == "breath":
        hs = {"sine": [1.0], "triangle": [1.0, 0.0, 1 / 9, 0.0, 1 / 25], "soft": [1.0, p["h2"], p["h3"]]}[p["wave"]]
        hs = np.array(hs)
        y = additive(f0_t, lambda k, fr: hs[k - 1][:, None] * np.ones((1, n)), sr, ratios=np.arange(1, len(hs) + 1))
        br = _bandnoise(rng, n, sr, f0 * (1 - 1 / p["noise_q"]), f0 * (1 + 1 / p["noise_q"]) + 1500)
        y = y / (np.abs(y).max() + 1e-9) + p["noise"] * br / (np.abs(br).max() + 1e-9)
    elif eng == "drawbar":
        footage = np.array([0.5, 1.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0])
        bars = np.array(p["bars"]) / 8.0
        order = np.argsort(footage)
        y = additive(f0_t, lambda k, fr: bars[order][k - 1][:, None] * np.ones((1, n)), sr, ratios=footage[order])
        if p["click"] > 0:
            y = y + p["click"] * _bandnoise(rng, n, sr, 1000, 6000) * np.exp(-t / 0.004)
    elif eng == "formant":
        mix = np.clip(t / 2.5, 0, 1)[None, :]

        def amp_fn(k, fr):
            src = source_amps("glottal", k, tilt=p["tilt"])[:, None]
            m = (1 - mix) * _formant_mag(fr, p["vowel"], p["fshift"], p["bw_mult"]) \
                + mix * _formant_mag(fr, p["vowel2"], p["fshift"], p["bw_mult"])
            return src * m
        y = additive(f0_t, amp_fn, sr)
        if p["noise"] > 0:
            br = _bandnoise(rng, n, sr, 500, 5000)
            y = y / (np.abs(y).max() + 1e-9) + p["noise"] * br / (np.abs(br).max() + 1e-9)
    else:
        raise ValueError(eng)

    if p.get("noise", 0) > 0 and eng == "subtractive":  # breath for reeds
        br = _bandnoise(rng, n, sr, 800, 6000)
        y = y / (np.abs(y).max() + 1e-9) + p["noise"] * br / (np.abs(br).max() + 1e-9)
    if p["tremolo"] > 0:
        y = y * (1.0 - p["tremolo"] * 0.5 * (1 + np.sin(2 * np.pi * p["vib_rate"] * 1.1 * t)))
    if p["distortion"] > 0:
        y = np.tanh(p["distortion"] * y / (np.abs(y).max() + 1e-9))
    y = y * amp
    return y.astype(np.float32)


if __name__ == "__main__":
    import argparse
    import soundfile as sf
    ap = argparse.ArgumentParser(description="write a few demo notes of synthetic instruments")
    ap.add_argument("--out", default="synth_demo")
    ap.add_argument("--per_family", type=int, default=2)
    args = ap.parse_args()
    import os
    os.makedirs(args.out, exist_ok=True)
    for fam in FAMILIES:
        for i in range(args.per_family):
            p = make_patch(fam, i)
            for pitch in (36, 60, 84):
                y = render_note(p, pitch, 100)
                sf.write(f"{args.out}/{fam}_{i}_{p['engine']}_{pitch}.wav", y / (np.abs(y).max() + 1e-9) * 0.9, 16000)
