/*
 * FFmpeg, loaded on first use.
 *
 * gbgate is not linked against libavformat, libavcodec, libavutil and libswresample. relay/av_lazy.c defines
 * the FFmpeg functions gbgate calls, with FFmpeg's own prototypes (its headers check every one), and the
 * first call of any of them loads the four libraries (dlopen, by the sonames of the headers gbgate was built
 * with) and resolves them all; every call then goes through a pointer.
 *
 * Why: the four libraries pull in about seventy more (x264, x265, dav1d, gnutls, librsvg, ...): about 24 MB
 * of resident memory and 40-70 ms of loading, in every process. Only three features use them: G.711 -> AAC
 * for browsers (relay/transcode.h), MP4 recording (relay/recorder.h) and RTMP push (relay/rtmp_relay.h). A
 * gateway that has none of them running (video-only cameras, no recording, no push) never loads them.
 *
 * Loading blocks its caller for those 40-70 ms, so a media worker must not be the one to trigger it: the
 * worker calls av_lazy_load_async() and keeps what needs FFmpeg waiting until av_lazy_loaded() (relay/live.c
 * holds a stream's G.711 frames). The recorder and relay threads call FFmpeg directly and may wait.
 *
 * Missing libraries are a broken installation (the packages are dependencies): loading then logs which one
 * and aborts, since no FFmpeg call can return "not available".
 */
#ifndef GB_RELAY_AV_LAZY_H
#define GB_RELAY_AV_LAZY_H

#include <stdbool.h>
#include <stddef.h>

/* True once the libraries are loaded and every function resolved; cheap (one atomic load). */
bool av_lazy_loaded(void);

/* Starts loading on a helper thread, once, and returns at once. */
void av_lazy_load_async(void);

/* Loads now, or waits for a load in progress; returns when av_lazy_loaded(). */
void av_lazy_load(void);

/* Loads the libraries and writes their versions ("libavformat 59.27.100, libavcodec ..."): gbgate --version,
 * which the container image runs to prove they load. */
void av_lazy_describe(char *out, size_t size);

#endif
