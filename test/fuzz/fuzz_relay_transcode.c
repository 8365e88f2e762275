/*
 * libFuzzer target for relay/transcode: arbitrary frame sizes (0 to past the 64 KiB limit), payload bytes,
 * timestamps (small steps, jitter, gaps, backwards jumps, absurd values), codec mismatches and payloads
 * that lie about their position in the buffer, into a transcoder whose codec, rate and channel count the
 * first byte picks. Checks the output contract on every AAC frame (codec, key, pts = dts, exact 1024-sample
 * steps within a segment, layout) and the stats' bookkeeping.
 *
 * Input: byte 0 = config; then records of [op, len_lo, len_hi, pts step] followed by len payload bytes
 * (taken from the input; padding with what is left when the input runs out).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "relay/transcode.h"

#define MAX_FRAMES 64 /* per input: bounds the time one input takes */

struct check {
    int64_t last_pts;
    uint64_t frames;
    uint64_t resyncs_seen;
    const struct audio_transcoder *t;
};

static void on_frame(void *arg, struct media_frame *f)
{
    struct check *c = arg;
    struct audio_transcoder_stats st;
    audio_transcoder_stats(c->t, &st);
    if (f->codec != CODEC_AAC || !f->key || f->pts != f->dts || f->off != FRAME_HEADROOM || f->len == 0 ||
        f->buf->cap < (size_t)f->off + f->len + FRAME_TAILROOM)
        __builtin_trap();
    /* within a segment, frames advance by exactly 1024 samples at 16 kHz */
    if (c->frames > 0 && st.resyncs == c->resyncs_seen && f->pts != c->last_pts + 5760) __builtin_trap();
    c->resyncs_seen = st.resyncs;
    c->last_pts = f->pts;
    c->frames++;
    media_frame_release(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static const uint32_t rates[] = {8000, 8000, 16000, 11025, 48000, 8000, 44100, 32000};
    enum codec_id codec = data[0] & 1 ? CODEC_G711U : CODEC_G711A;
    uint8_t channels = (data[0] & 2) ? 2 : 1;
    uint32_t rate = rates[(data[0] >> 2) & 7];
    char err[128];
    struct audio_transcoder *t = audio_transcoder_create(codec, rate, channels, err, sizeof err);
    if (!t) __builtin_trap(); /* every configuration above is supported */
    struct check c = {.t = t};

    size_t pos = 1;
    int64_t pts = (data[0] & 0x20) ? INT64_C(0x1FFFFF000) : 0;
    uint64_t bad = 0, accepted = 0;
    for (int i = 0; i < MAX_FRAMES && pos + 4 <= size; i++) {
        uint8_t op = data[pos];
        size_t len = data[pos + 1] | (size_t)data[pos + 2] << 8;
        int8_t step = (int8_t)data[pos + 3];
        pos += 4;
        switch (op & 7) {
        case 0: len = 0; break;
        case 1: len = TRANSCODE_MAX_INPUT + (op >> 3); break;
        default: len %= 4096; break;
        }
        /* timestamps: a normal step, jitter around it, a gap, a jump back, or an absurd value */
        switch ((op >> 3) & 7) {
        case 0: pts += (int64_t)len * 90000 / rate / channels; break;
        case 1: pts += step * 90; break;
        case 2: pts += (int64_t)step * 9000; break;
        case 3: pts -= (int64_t)(uint8_t)step * 1000; break;
        case 4: pts = (op & 0x40) ? INT64_MAX - (uint8_t)step : INT64_MIN + (uint8_t)step; break;
        default: pts += (int64_t)len * 90000 / rate / channels + step; break;
        }
        struct gbuf *b = gbuf_alloc(FRAME_HEADROOM + len + FRAME_TAILROOM);
        size_t avail = size - pos < len ? size - pos : len;
        memcpy(b->data + FRAME_HEADROOM, data + pos, avail);
        memset(b->data + FRAME_HEADROOM + avail, data[0], len - avail);
        pos += avail;
        struct media_frame f = {.buf = b,
                                .off = FRAME_HEADROOM,
                                .len = (uint32_t)len,
                                .codec = (op & 0x80) && (op & 7) == 2 ? CODEC_AAC : codec,
                                .pts = pts,
                                .dts = pts,
                                .key = true};
        if ((op & 0x87) == 0x83) f.off = (uint32_t)b->cap - (uint32_t)len / 2; /* payload past the buffer */
        int rc = audio_transcoder_input(t, &f, on_frame, &c);
        if (rc == -EINVAL || rc == -EMSGSIZE)
            bad++;
        else if (rc == 0)
            accepted++;
        else
            __builtin_trap(); /* libavcodec must not fail on any G.711 bytes */
        gbuf_unref(b);
        if (pts > INT64_C(1) << 61 || pts < -(INT64_C(1) << 61)) pts = 0; /* stay representable */
    }
    struct audio_transcoder_stats st;
    audio_transcoder_stats(t, &st);
    if (st.bad_frames != bad || st.frames_in != accepted || st.frames_out != c.frames) __builtin_trap();
    audio_transcoder_destroy(t);
    return 0;
}
