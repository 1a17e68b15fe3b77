package main

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/latch-gitops/latch/internal/simulate"
)

// step is the HPA sync period every synthetic trace is sampled at.
const step = 15 * time.Second

const (
	perMinute = int(time.Minute / step)
	perHour   = int(time.Hour / step)
	perDay    = int(24 * time.Hour / step)
)

// shape is a synthetic workload: a load curve in replica units (the load
// one replica serves is 1), with realistic noise, turned into replicas by
// the standard HPA rule, as a real cluster would.
type shape struct {
	name  string
	about string
	days  int
	// base returns the noiseless load at sample i; rng is for shapes whose
	// events (bursts, gaps) are random but seeded.
	base func(i int, rng *rand.Rand) float64
	// gaps, when set, marks samples where monitoring is gone and the
	// observed replica count drops to the minimum (1).
	gaps func(n int, rng *rand.Rand) []bool
	// noise scales the calibrated load noise (0 means 1: as calibrated).
	noise float64
	// seed fixes the shape's random choices; 0 means tuningSeed.
	seed uint64
}

// tuningSeed and heldOutSeed fix every random choice, so the tables are
// reproducible; the held-out shapes never share a seed with the tuning ones.
const (
	tuningSeed  = 1995
	heldOutSeed = 20260315
)

// noise is multiplicative load noise: a slow AR(1) component (traffic
// drifting over minutes) and a fast per-sample one (request-count jitter).
type noise struct {
	rng       *rand.Rand
	slow      float64
	phi, sdAR float64
	sdFast    float64
}

func newNoise(rng *rand.Rand, scale float64) *noise {
	// Calibrated on the real NASA 1995 load: there, the HPA's 75 s metric
	// deviates from its one-hour trend by a log-standard-deviation of 0.30
	// (at ≥ 1 req/s; Poisson counting explains only 0.10 of it). Here a
	// slow AR(1) part (φ = 0.95 per 15 s: about 5 minutes of memory,
	// stationary deviation 0.2) and a fast part (0.4 per sample, ≈ 0.18 over
	// the 75 s window) give about 0.27 on the same measure.
	const phi, slowSD, fastSD = 0.95, 0.2, 0.4
	return &noise{rng: rng, phi: phi, sdAR: scale * slowSD * math.Sqrt(1-phi*phi), sdFast: scale * fastSD}
}

func (n *noise) next() float64 {
	n.slow = n.phi*n.slow + n.sdAR*n.rng.NormFloat64()
	return math.Exp(n.slow + n.sdFast*n.rng.NormFloat64())
}

// diurnalFactor is a daily cycle between trough and 1, peaking mid-afternoon,
// with weekends at weekend × the weekday level.
func diurnalFactor(i int, trough, weekend float64) float64 {
	t := float64(i) / float64(perDay)
	day := int(t)
	phase := t - float64(day)
	f := trough + (1-trough)*math.Pow(0.5-0.5*math.Cos(2*math.Pi*(phase-0.125)), 1.5)
	if day%7 == 5 || day%7 == 6 {
		f *= weekend
	}
	return f
}

// events returns, per sample, a multiplier from randomly placed bursts.
type burst struct {
	start, length int
	height        float64
}

// tuningShapes are the shapes: the defaults were chosen on these.
func tuningShapes() []shape {
	return []shape{
		{
			name: "diurnal", about: "14 days, weekday peak 300 replicas, night trough ~12 %, weekends at 60 %",
			days: 14,
			base: func(i int, _ *rand.Rand) float64 { return 300 * diurnalFactor(i, 0.12, 0.6) },
		},
		{
			name: "bursts", about: "7 days, mild daily cycle around 40 replicas, 3–8 bursts a day of 2–6× for 10–90 min",
			days: 7,
			base: burstsBase(40, 3, 8, 2, 6, 10*perMinute, 90*perMinute),
		},
		{
			name: "flash-spike", about: "7 days, plateau ~80 with a mild daily cycle, a 40× spike for 15 min on day 3 and a 10× one for 5 min on day 5",
			days: 7,
			base: func(i int, _ *rand.Rand) float64 {
				b := 80 * (0.7 + 0.3*diurnalFactor(i, 0.3, 1))
				switch {
				case i >= 3*perDay+14*perHour && i < 3*perDay+14*perHour+15*perMinute:
					b *= 40
				case i >= 5*perDay+3*perHour && i < 5*perDay+3*perHour+5*perMinute:
					b *= 10
				}
				return b
			},
		},
		{
			name: "ramp-exp", about: "7 days, exponential growth from 1 to 10,000 replicas (even time in every decade)",
			days: 7,
			base: func(i int, _ *rand.Rand) float64 {
				return math.Pow(10000, float64(i)/float64(7*perDay))
			},
		},
		{
			name: "ramp-linear", about: "7 days, linear growth from 1 to 10,000 replicas",
			days: 7,
			base: func(i int, _ *rand.Rand) float64 {
				return 1 + 9999*float64(i)/float64(7*perDay)
			},
		},
		{
			name: "sawtooth", about: "7 days, slow sawtooth 10 → 20 replicas every 6 h, across the 14.1 (1-2-5) and 15 (sigfig) boundaries",
			days: 7,
			base: func(i int, _ *rand.Rand) float64 {
				period := 6 * perHour
				return 10 + 10*float64(i%period)/float64(period)
			},
		},
		{
			name: "plateau", about: "7 days, flat load of 70 replicas (next to the 70.7 boundary between 50 and 100) with the usual noise",
			days: 7,
			base: func(int, *rand.Rand) float64 { return 70 },
		},
		{
			name: "gaps", about: "14 days, the diurnal shape with 1–4 monitoring gaps a day of 5–60 min where the series drops to the minimum",
			days: 14,
			base: func(i int, _ *rand.Rand) float64 { return 300 * diurnalFactor(i, 0.12, 0.6) },
			gaps: gapsEvery(1, 4, 5*perMinute, 60*perMinute-1), // 5 min to just under an hour
		},
		// The shapes of issue 10's table of real traces the defaults missed.
		{
			name: "spiky-large", about: "14 days, base ~5,000 replicas with a daily cycle (trough 50 %), 9–13 spikes a day of 4–5× for 8–16 min, one a day up to 1 h, 1–3 drops a day to the minimum for 1–3 min",
			days: 14,
			base: spiky(5000, 0.5, 9, 13, 4, 5, 8*perMinute, 16*perMinute),
			gaps: gapsEvery(1, 3, perMinute, 3*perMinute),
		},
		{
			name: "diurnal-deep", about: "14 days, weekday peak 800 replicas, night trough 3 %, weekends at 50 %",
			days: 14,
			base: func(i int, _ *rand.Rand) float64 { return 800 * diurnalFactor(i, 0.03, 0.5) },
		},
		{
			name: "growth-weeks", about: "28 days, exponential growth from a peak of 50 to 2,000 replicas under a daily cycle (trough 30 %)",
			days: 28,
			base: func(i int, _ *rand.Rand) float64 {
				return 50 * math.Pow(40, float64(i)/float64(28*perDay)) * diurnalFactor(i, 0.3, 0.8)
			},
		},
		{
			name: "llm-small", about: "7 days, a small inference service: weekday peak 12 replicas, trough 25 %, 1.5× the noise",
			days: 7, noise: 1.5,
			base: func(i int, _ *rand.Rand) float64 { return 12 * diurnalFactor(i, 0.25, 0.6) },
		},
	}
}

// heldOutShapes are generated with another seed and other parameters than
// the tuning shapes, and were not looked at while choosing the defaults:
// they show whether the defaults generalise.
func heldOutShapes() []shape {
	return []shape{
		{
			name: "diurnal-large", about: "14 days, weekday peak 2,000 replicas, night trough 25 %, weekends at 80 %, half the noise",
			days: 14, noise: 0.5, seed: heldOutSeed,
			base: func(i int, _ *rand.Rand) float64 { return 2000 * diurnalFactor(i, 0.25, 0.8) },
		},
		{
			name: "diurnal-small", about: "14 days, weekday peak 20 replicas, night trough 5 %, weekends at 40 %, 1.5× the noise",
			days: 14, noise: 1.5, seed: heldOutSeed,
			base: func(i int, _ *rand.Rand) float64 { return 20 * diurnalFactor(i, 0.05, 0.4) },
		},
		{
			name: "bursts-tall", about: "7 days, mild daily cycle around 120 replicas, 1–3 bursts a day of 3–10× for 5–40 min, 1.5× the noise",
			days: 7, noise: 1.5, seed: heldOutSeed,
			base: burstsBase(120, 1, 3, 3, 10, 5*perMinute, 40*perMinute),
		},
		{
			name: "bursts-frequent", about: "7 days, mild daily cycle around 15 replicas, 6–12 bursts a day of 1.5–3× for 10–60 min",
			days: 7, seed: heldOutSeed,
			base: burstsBase(15, 6, 12, 1.5, 3, 10*perMinute, 60*perMinute),
		},
		{
			name: "decaying-spike", about: "7 days, plateau ~60 with a mild daily cycle, once a day a spike to 15× decaying with a 1 h half-life, 0.75× the noise",
			days: 7, noise: 0.75, seed: heldOutSeed,
			base: decayingSpikes(60, 15, time.Hour),
		},
		{
			name: "ramp-exp-fast", about: "7 days, exponential growth from 1 to 10,000 replicas in 2 days, then flat",
			days: 7, seed: heldOutSeed,
			base: func(i int, _ *rand.Rand) float64 {
				return math.Pow(10000, math.Min(1, float64(i)/float64(2*perDay)))
			},
		},
		{
			name: "weekly", about: "21 days, weekdays around 500 replicas with a mild daily cycle (trough 60 %), weekends at 20 %",
			days: 21, seed: heldOutSeed,
			base: func(i int, _ *rand.Rand) float64 { return 500 * diurnalFactor(i, 0.6, 0.2) },
		},
		{
			name: "plateau-noisy", about: "7 days, flat load of 25 replicas (the R5 level) with twice the noise",
			days: 7, noise: 2, seed: heldOutSeed,
			base: func(int, *rand.Rand) float64 { return 25 },
		},
		{
			name: "sawtooth-slow", about: "7 days, sawtooth 30 → 90 replicas every 12 h, across the R5 levels 40 and 63",
			days: 7, seed: heldOutSeed,
			base: func(i int, _ *rand.Rand) float64 {
				period := 12 * perHour
				return 30 + 60*float64(i%period)/float64(period)
			},
		},
		{
			name: "gaps-long", about: "14 days, a diurnal shape peaking at 80 with 0–2 monitoring gaps a day of 30–180 min at the minimum, twice the noise",
			days: 14, noise: 2, seed: heldOutSeed,
			base: func(i int, _ *rand.Rand) float64 { return 80 * diurnalFactor(i, 0.2, 0.7) },
			gaps: gapsEvery(0, 2, 30*perMinute, 180*perMinute),
		},
		// Held-out variants of issue 10's shapes: other sizes, rates and seed.
		{
			name: "spiky-mid", about: "14 days, base ~1,500 replicas (trough 35 %), 5–15 spikes a day of 3–6× for 5–30 min, 0–4 drops a day to the minimum for 1–5 min",
			days: 14, seed: heldOutSeed,
			base: spiky(1500, 0.35, 5, 15, 3, 6, 5*perMinute, 30*perMinute),
			gaps: gapsEvery(0, 4, perMinute, 5*perMinute),
		},
		{
			name: "diurnal-deep-small", about: "14 days, weekday peak 150 replicas, night trough 5 %, weekends at 30 %, 1.25× the noise",
			days: 14, noise: 1.25, seed: heldOutSeed,
			base: func(i int, _ *rand.Rand) float64 { return 150 * diurnalFactor(i, 0.05, 0.3) },
		},
		{
			name: "growth-linear", about: "21 days, linear growth from a peak of 5 to 500 replicas under a daily cycle (trough 40 %)",
			days: 21, seed: heldOutSeed,
			base: func(i int, _ *rand.Rand) float64 {
				return (5 + 495*float64(i)/float64(21*perDay)) * diurnalFactor(i, 0.4, 0.9)
			},
		},
		{
			name: "llm-tiny", about: "7 days, a tiny inference service: peak 5 replicas, trough 40 %, twice the noise",
			days: 7, noise: 2, seed: heldOutSeed,
			base: func(i int, _ *rand.Rand) float64 { return 5 * diurnalFactor(i, 0.4, 0.7) },
		},
		// Issue 10's two LLM traces at their own scale: a week with 378
		// and about 1,200 scale changes (llm-small and llm-tiny change
		// ten times as often).
		{
			name: "llm-chat", about: "7 days, a quiet chat inference service: peak 4 replicas, trough 50 %, weekends at 70 %, half the noise (≈ 380 scale changes, as the table's chat trace)",
			days: 7, noise: 0.5, seed: heldOutSeed + 1,
			base: func(i int, _ *rand.Rand) float64 { return 4 * diurnalFactor(i, 0.5, 0.7) },
		},
		{
			name: "llm-code", about: "7 days, a code-completion inference service: peak 10 replicas, trough 30 %, weekends at 60 %, 0.7× the noise (≈ 1,300 scale changes, as the table's 1,168)",
			days: 7, noise: 0.7, seed: heldOutSeed + 2,
			base: func(i int, _ *rand.Rand) float64 { return 10 * diurnalFactor(i, 0.3, 0.6) },
		},
	}
}

// spiky is a daily cycle around level (trough as diurnalFactor's) with,
// each day, between minPerDay and maxPerDay spikes of minH..maxH × for
// minLen..maxLen samples, and one spike a day lasting up to an hour.
func spiky(level, trough float64, minPerDay, maxPerDay int, minH, maxH float64, minLen, maxLen int) func(int, *rand.Rand) float64 {
	spikes := burstsBase(1, minPerDay, maxPerDay, minH, maxH, minLen, maxLen)
	long := burstsBase(1, 1, 1, minH, maxH, maxLen, perHour)
	return func(i int, rng *rand.Rand) float64 {
		// burstsBase's own mild cycle is divided out: only its spikes remain.
		mild := 0.75 + 0.25*diurnalFactor(i, 0.2, 1)
		f := math.Max(spikes(i, rng), long(i, rng)) / mild
		return level * diurnalFactor(i, trough, 0.85) * f
	}
}

// gapsEvery marks, each day, between minPerDay and maxPerDay monitoring
// gaps of minLen..maxLen samples at random times.
func gapsEvery(minPerDay, maxPerDay, minLen, maxLen int) func(int, *rand.Rand) []bool {
	return func(n int, rng *rand.Rand) []bool {
		gap := make([]bool, n)
		for day := 0; day*perDay < n; day++ {
			for range minPerDay + rng.IntN(maxPerDay-minPerDay+1) {
				start := day*perDay + rng.IntN(perDay)
				length := minLen + rng.IntN(maxLen-minLen+1)
				for j := start; j < min(n, start+length); j++ {
					gap[j] = true
				}
			}
		}
		return gap
	}
}

// decayingSpikes is a mild daily cycle around level with, once a day at a
// random time, a jump to height × that decays exponentially back.
func decayingSpikes(level, height float64, halfLife time.Duration) func(int, *rand.Rand) float64 {
	starts := map[int]int{}
	return func(i int, rng *rand.Rand) float64 {
		day := i / perDay
		if _, ok := starts[day]; !ok {
			starts[day] = day*perDay + rng.IntN(perDay)
		}
		f := 1.0
		for _, d := range []int{day - 1, day} {
			st, ok := starts[d]
			if !ok || i < st {
				continue
			}
			age := time.Duration(i-st) * step
			f = math.Max(f, 1+(height-1)*math.Exp2(-float64(age)/float64(halfLife)))
		}
		return level * (0.75 + 0.25*diurnalFactor(i, 0.2, 1)) * f
	}
}

// burstsBase is a mild daily cycle around level with, each day, between
// minPerDay and maxPerDay bursts of minH..maxH × for minLen..maxLen samples,
// each rising and falling over five minutes.
func burstsBase(level float64, minPerDay, maxPerDay int, minH, maxH float64, minLen, maxLen int) func(int, *rand.Rand) float64 {
	var plan map[int][]burst // bursts by day, drawn on first use of each day
	return func(i int, rng *rand.Rand) float64 {
		if plan == nil {
			plan = map[int][]burst{}
		}
		day := i / perDay
		bs, ok := plan[day]
		if !ok {
			for range minPerDay + rng.IntN(maxPerDay-minPerDay+1) {
				bs = append(bs, burst{
					start:  day*perDay + rng.IntN(perDay),
					length: minLen + rng.IntN(maxLen-minLen+1),
					height: minH + (maxH-minH)*rng.Float64(),
				})
			}
			plan[day] = bs
		}
		f := 1.0
		edge := 5 * perMinute
		for _, prev := range [][]burst{plan[day-1], bs} {
			for _, b := range prev {
				if i < b.start || i >= b.start+b.length {
					continue
				}
				ramp := math.Min(1, math.Min(float64(i-b.start), float64(b.start+b.length-i))/float64(edge))
				f = math.Max(f, 1+(b.height-1)*ramp)
			}
		}
		return level * (0.75 + 0.25*diurnalFactor(i, 0.2, 1)) * f
	}
}

// generate returns the observed replica series of sh, deterministically.
func (sh shape) generate() ([]int64, error) {
	seed := sh.seed
	if seed == 0 {
		seed = tuningSeed
	}
	scale := sh.noise
	if scale == 0 {
		scale = 1
	}
	rng := rand.New(rand.NewPCG(seed, uint64(len(sh.name))*7919+uint64(sh.name[0])))
	nz := newNoise(rng, scale)
	n := sh.days * perDay
	load := make([]float64, n)
	for i := range load {
		load[i] = sh.base(i, rng) * nz.next()
	}
	replicas, err := simulate.StandardHPA(1).Replicas(load, step)
	if err != nil {
		return nil, err
	}
	if sh.gaps != nil {
		for i, g := range sh.gaps(len(replicas), rng) {
			if g {
				replicas[i] = 1
			}
		}
	}
	return replicas, nil
}
