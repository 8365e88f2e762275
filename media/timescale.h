/*
 * Output timestamps for playback at a speed other than 1 (GB28181.md section 4, "Playback control").
 *
 * At speed S a device sends S seconds of recording per wall second, stamped with the recording's own
 * timestamps. A player paces by timestamps, so it would play them at 1x and fall behind (or starve at S < 1).
 * This module rescales them: within a segment out = out_base + (in - in_base) / S. A new segment starts
 *   - on a speed change (continuous: the first frame of the new speed follows the last one by its own input
 *     gap divided by the new speed),
 *   - on a seek or a resume, or when the input jumps by itself (more than TIMESCALE_MAX_JUMP forward or
 *     TIMESCALE_MAX_BACK backward): the first frame then lands one frame gap after the last output,
 * so the output stays monotonic and continuous whatever the device does with its timestamps.
 *
 * Input: 90 kHz timestamps, either already unwrapped or raw 33-bit PES values (deltas are taken modulo 2^33).
 * Output: 90 kHz, starting at the first input value (so a caller that rebases at its first frame is
 * unaffected at speed 1). Pure arithmetic: no allocation, no I/O, no threads; the speed is 0.25..8 in
 * thousandths (integer arithmetic, so a segment has no accumulated rounding).
 */
#ifndef GB_MEDIA_TIMESCALE_H
#define GB_MEDIA_TIMESCALE_H

#include <stdbool.h>
#include <stdint.h>

#define TIMESCALE_SPEED_MIN_MILLI 250
#define TIMESCALE_SPEED_MAX_MILLI 8000
#define TIMESCALE_MAX_JUMP        (5 * 90000) /* input forward gap treated as a discontinuity */
#define TIMESCALE_MAX_BACK        (1 * 90000) /* input going back further than this: a discontinuity */
#define TIMESCALE_DEFAULT_STEP    3600 /* 40 ms: gap placed after a discontinuity before one is known */

struct timescale {
    uint32_t speed_milli; /* 1000 = 1x */
    bool started;
    bool rebase_speed; /* the next frame starts a continuous segment at the new speed */
    bool rebase_jump;  /* the next frame starts a segment one step after the last output */
    int64_t in_raw_last, in_last, in_base;
    int64_t out_base, out_last, out_prev; /* out_last: the highest so far; out_prev: the previous frame's */
    int64_t step;                         /* the last ordinary output frame gap (90 kHz) */
};

void timescale_init(struct timescale *t);
/* Clamps to 0.25..8. The change applies from the next frame. */
void timescale_set_speed(struct timescale *t, uint32_t speed_milli);
/* The next frame comes from elsewhere in the recording (seek, resume): place it one step after the last. */
void timescale_discontinuity(struct timescale *t);
/* The output timestamp (90 kHz) of the frame stamped `in`. */
int64_t timescale_map(struct timescale *t, int64_t in);
/* A duration (90 kHz, e.g. a composition offset pts - dts) at the current speed. */
int64_t timescale_duration(const struct timescale *t, int64_t d);

#endif
