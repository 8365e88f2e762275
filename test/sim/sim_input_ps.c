/*
 * Raw MPEG-PS input of `gbsim send` (e.g. ../shared/samples/hik_704x576_h264.ps): the file is replayed as it
 * is, cut into send units at pack headers and paced by its own timestamps, so the gateway sees exactly what
 * the camera wrote (including a leading cut PES, private streams and odd PSMs).
 *
 * Packs are found by walking the units with their lengths (a fake 00 00 01 BA inside a payload is not a cut
 * point); only where the structure is broken does the walker scan for the next pack start. Consecutive packs
 * form one frame until a pack carries a video PES with a new timestamp (DTS if present, else PTS); files
 * without video are grouped by their audio timestamps instead. Bytes before the first pack header belong to
 * the first frame: they are sent too, which is the point of the head-cut sample.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_send.h"

#define TS_WRAP      (1ll << 33)
#define MAX_TS_JUMP  (10ll * SIM_CLOCK_HZ) /* larger or backward steps are treated as one frame interval */
#define DEFAULT_STEP 3600

struct pack {
    size_t start;
    bool has_video_ts, has_audio_ts, headers;
    int64_t video_ts, audio_ts;
};

struct pack_list {
    struct pack *v;
    size_t count, cap;
};

static struct pack *pack_add(struct pack_list *l, size_t start)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        struct pack *v = realloc(l->v, cap * sizeof *v);
        if (!v) return NULL;
        l->v = v, l->cap = cap;
    }
    struct pack *p = &l->v[l->count++];
    *p = (struct pack){.start = start};
    return p;
}

struct walk_state {
    struct pack_list *packs;
    struct pack *cur;
    int err;
};

static void on_unit(void *arg, const uint8_t *d, uint8_t id, size_t pos, size_t end)
{
    struct walk_state *w = arg;
    if (w->err) return;
    if (id == 0xBA) {
        /* bytes before the first pack header go with the first pack */
        if (!(w->cur = pack_add(w->packs, w->packs->count ? pos : 0))) w->err = -ENOMEM;
        return;
    }
    struct pack *p = w->cur;
    if (!p) return;
    if (id == 0xBB || id == 0xBC) p->headers = true;
    size_t pts_at = 0, dts_at = 0;
    unsigned n = sim_ps_is_pes(id) ? sim_pes_ts_fields(d, pos, end, &pts_at, &dts_at) : 0;
    if (!n) return;
    int64_t ts = sim_ps_read_ts(d + (n == 2 ? dts_at : pts_at)); /* decode time: DTS if present */
    if ((id & 0xF0) == 0xE0 && !p->has_video_ts) p->has_video_ts = true, p->video_ts = ts;
    if ((id & 0xE0) == 0xC0 && !p->has_audio_ts) p->has_audio_ts = true, p->audio_ts = ts;
}

static int walk_packs(const uint8_t *d, size_t len, struct pack_list *packs)
{
    struct walk_state w = {.packs = packs};
    sim_ps_walk(d, len, on_unit, &w);
    return w.err;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Turns 33-bit timestamps into offsets from the first frame, never backward (pacing needs that). */
static void make_relative(struct sim_input *in, const int64_t *raw)
{
    int64_t *steps = malloc(in->count * sizeof *steps);
    size_t nsteps = 0;
    for (size_t i = 1; i < in->count && steps; i++) {
        int64_t step = (raw[i] - raw[i - 1] + TS_WRAP) % TS_WRAP;
        if (step > 0 && step <= MAX_TS_JUMP) steps[nsteps++] = step;
    }
    if (nsteps) qsort(steps, nsteps, sizeof *steps, cmp_i64);
    in->frame_duration = nsteps ? steps[nsteps / 2] : DEFAULT_STEP;
    free(steps);
    in->frames[0].ts = 0;
    for (size_t i = 1; i < in->count; i++) {
        int64_t step = (raw[i] - raw[i - 1] + TS_WRAP) % TS_WRAP;
        if (step > MAX_TS_JUMP) step = raw[i] == raw[i - 1] ? 0 : in->frame_duration;
        in->frames[i].ts = in->frames[i - 1].ts + step;
    }
}

int sim_input_ps(const char *path, struct sim_input *in)
{
    int err = sim_input_read_file(path, in);
    if (err) return err;
    struct pack_list packs = {0};
    int64_t *raw = NULL;
    if ((err = walk_packs(in->data, in->len, &packs)) != 0) goto out;
    if (!packs.count) {
        fprintf(stderr, "gbsim send: %s: no MPEG-PS pack header found\n", path);
        err = -EINVAL;
        goto out;
    }
    bool by_video = false;
    for (size_t i = 0; i < packs.count && !by_video; i++) by_video = packs.v[i].has_video_ts;
    raw = malloc(packs.count * sizeof *raw);
    if (!raw) {
        err = -ENOMEM;
        goto out;
    }
    bool open = false, have_ts = false;
    int64_t ts = 0;
    for (size_t i = 0; i < packs.count; i++) {
        const struct pack *p = &packs.v[i];
        bool pack_has_ts = by_video ? p->has_video_ts : p->has_audio_ts;
        int64_t pack_ts = by_video ? p->video_ts : p->audio_ts;
        if (open && pack_has_ts && have_ts && pack_ts != ts) {
            raw[in->count - 1] = ts;
            open = have_ts = false;
        }
        if (!open) {
            if ((err = sim_input_add(in, p->start, 0, 0, false, by_video)) != 0) goto out;
            open = true;
        }
        struct sim_input_frame *f = &in->frames[in->count - 1];
        size_t end = i + 1 < packs.count ? packs.v[i + 1].start : in->len;
        f->len = end - f->off;
        f->key |= p->headers;
        if (pack_has_ts && !have_ts) ts = pack_ts, have_ts = true;
    }
    if (!have_ts && in->count == 1) {
        fprintf(stderr, "gbsim send: %s: no PES with a timestamp: cannot pace it\n", path);
        err = -EINVAL;
        goto out;
    }
    raw[in->count - 1] = have_ts ? ts : raw[in->count > 1 ? in->count - 2 : 0];
    make_relative(in, raw);
    in->codec = CODEC_NONE;
out:
    free(raw);
    free(packs.v);
    return err;
}
