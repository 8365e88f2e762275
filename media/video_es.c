/*
 * Video access units of an elementary stream, opened, dated and emitted; shared by the PS and TS demuxers
 * (see video_es.h).
 */
#include "media/video_es.h"

#include <string.h>

#define DEFAULT_FRAME_DURATION 3600  /* 25 fps at 90 kHz, until the stream shows its own */
#define MAX_FRAME_DURATION     90000 /* a longer gap is a discontinuity, not a frame rate */

void video_es_init(struct video_es *v, size_t max_frame)
{
    memset(v, 0, sizeof *v);
    video_au_init(&v->au, CODEC_NONE, max_frame, &v->track);
    v->last_pts = v->last_dts = VIDEO_ES_TIME_UNKNOWN;
    v->frame_duration = DEFAULT_FRAME_DURATION;
}

void video_es_destroy(struct video_es *v)
{
    video_au_destroy(&v->au);
}

bool video_es_remuxes(enum codec_id codec)
{
    return codec == CODEC_H264 || codec == CODEC_H265;
}

void video_es_set_codec(struct video_es *v, enum codec_id codec, const struct video_es_out *o)
{
    bool supported = video_es_remuxes(codec);
    v->unsupported = !supported;
    v->track.codec = codec;
    v->track.vps_len = v->track.sps_len = v->track.pps_len = 0;
    v->track.width = v->track.height = v->track.fps_num = v->track.fps_den = 0;
    v->au.codec = supported ? codec : CODEC_NONE;
    v->au.params_changed = true;
    if (!supported) video_es_announce(v, o); /* so the API can show what the camera sends */
}

void video_es_announce(struct video_es *v, const struct video_es_out *o)
{
    v->announced = true;
    v->au.params_changed = false;
    if (o->cb->on_track) o->cb->on_track(o->arg, &v->track);
}

void video_es_open(struct video_es *v, bool has_pts, int64_t pts, int64_t dts)
{
    if (v->au_open) return;
    v->au_open = true;
    v->au_has_pts = has_pts;
    if (has_pts) {
        v->au_pts = pts;
        v->au_dts = dts;
    } else if (v->last_pts != VIDEO_ES_TIME_UNKNOWN) {
        v->au_pts = v->last_pts + v->frame_duration;
        v->au_dts = v->last_dts + v->frame_duration;
    } else {
        v->au_pts = v->au_dts = 0;
    }
}

void video_es_complete(struct video_es *v, const struct video_es_out *o)
{
    if (!v->au_open) return;
    v->au_open = false;
    struct media_frame f;
    enum video_au_result r = video_au_finish(&v->au, &f);
    if (r == VIDEO_AU_OVERSIZE || r == VIDEO_AU_NO_CODEC) (*o->frames_dropped)++;
    if (r != VIDEO_AU_FRAME) return;
    f.pts = v->au_pts;
    f.dts = v->au_dts;
    if (v->last_dts != VIDEO_ES_TIME_UNKNOWN && f.dts > v->last_dts &&
        f.dts - v->last_dts <= MAX_FRAME_DURATION)
        v->frame_duration = f.dts - v->last_dts;
    v->last_pts = f.pts;
    v->last_dts = f.dts;
    v->track.codec = f.codec;
    if (!v->announced || v->au.params_changed) video_es_announce(v, o);
    (*o->video_frames)++;
    if (o->cb->on_frame)
        o->cb->on_frame(o->arg, &f);
    else
        media_frame_release(&f);
}

void video_es_loss(struct video_es *v, const struct video_es_out *o)
{
    if (v->au_open && video_au_discard(&v->au)) (*o->frames_dropped)++;
    v->au_open = false;
}
