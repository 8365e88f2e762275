/*
 * Timestamp rescaling for playback speed (see timescale.h for the model). Segments are kept as
 * (in_base, out_base, speed) so each output is computed from the segment start, never accumulated.
 */
#include "media/timescale.h"

#define WRAP_33 (INT64_C(1) << 33)

void timescale_init(struct timescale *t)
{
    *t = (struct timescale){.speed_milli = 1000, .step = TIMESCALE_DEFAULT_STEP};
}

void timescale_set_speed(struct timescale *t, uint32_t speed_milli)
{
    if (speed_milli < TIMESCALE_SPEED_MIN_MILLI) speed_milli = TIMESCALE_SPEED_MIN_MILLI;
    if (speed_milli > TIMESCALE_SPEED_MAX_MILLI) speed_milli = TIMESCALE_SPEED_MAX_MILLI;
    if (speed_milli == t->speed_milli) return;
    t->speed_milli = speed_milli;
    t->rebase_speed = true;
}

void timescale_discontinuity(struct timescale *t)
{
    t->rebase_jump = true;
}

int64_t timescale_duration(const struct timescale *t, int64_t d)
{
    return d * 1000 / (int64_t)t->speed_milli;
}

/* The signed distance from a to b, modulo 2^33 (a 33-bit PES clock that wrapped, or plain unwrapped values
 * that are close together). */
static int64_t delta_33(int64_t a, int64_t b)
{
    int64_t d = (b - a) % WRAP_33;
    if (d < 0) d += WRAP_33;
    if (d > WRAP_33 / 2) d -= WRAP_33;
    return d;
}

static void start_segment(struct timescale *t, int64_t in, int64_t out)
{
    t->in_base = in;
    t->out_base = out;
    t->rebase_speed = t->rebase_jump = false;
}

int64_t timescale_map(struct timescale *t, int64_t in_raw)
{
    if (!t->started) {
        t->started = true;
        t->in_raw_last = t->in_last = in_raw;
        t->out_last = t->out_prev = in_raw;
        start_segment(t, in_raw, in_raw);
        return in_raw;
    }
    int64_t d = delta_33(t->in_raw_last, in_raw);
    int64_t in_prev = t->in_last, in = in_prev + d; /* unwrapped by this module */
    t->in_raw_last = in_raw;
    t->in_last = in;
    bool jump = t->rebase_jump || d > TIMESCALE_MAX_JUMP || d < -TIMESCALE_MAX_BACK;
    if (jump)
        start_segment(t, in, t->out_last + t->step);
    else if (t->rebase_speed)
        start_segment(t, in_prev, t->out_prev); /* anchored at the previous frame, as the old speed put it */
    int64_t out = t->out_base + timescale_duration(t, in - t->in_base);
    if (out < t->out_base) out = t->out_base; /* a late frame of the old segment (audio behind video) */
    int64_t gap = out - t->out_last;
    if (gap > 0 && gap <= 9000) t->step = gap; /* an ordinary frame gap (<= 100 ms) */
    if (out > t->out_last) t->out_last = out;
    t->out_prev = out;
    return out;
}
