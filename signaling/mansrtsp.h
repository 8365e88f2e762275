/*
 * MANSRTSP (GB28181.md section 4, GB/T 28181 annex B): the RTSP-like bodies of the SIP INFO requests
 * (Content-Type: Application/MANSRTSP) that control a playback or download: PLAY (resume, seek, speed),
 * PAUSE and TEARDOWN. A pure parser and builder: no I/O, no allocation, bounded, so both the gateway (which
 * sends these) and the camera simulator (which obeys them) share one reading of the format, and it is
 * unit-tested on the exact bodies real platforms send and fuzzed as it is.
 *
 * What real platforms send, and so what is accepted:
 *   "PLAY RTSP/1.0\r\nCSeq: 3\r\nScale: 2.0\r\n"          (wvp-GB28181-pro; GB28181-2016 says RTSP/1.0)
 *   "PAUSE MANSRTSP/1.0\r\nCSeq: 4\r\nPauseTime: now\r\n"  (GB28181-2011 wrote MANSRTSP/1.0)
 *   "PLAY RTSP/1.0\r\nCSeq: 5\r\nRange: npt=120-\r\n"      (seek), "Range: npt=now-" (resume),
 *   "Range: npt=0.000-", "Range: npt=00:02:00-", "Range: npt=10-20"
 * Lines end in CRLF or a bare LF (the last may end at the end of the body); header names are matched without
 * case and may be followed by spaces; headers this module does not know (Session, User-Agent...) are skipped
 * when they look like "Name: value". Refused, with a reason text: an unknown method or version, a request
 * URI, a missing or non-numeric CSeq, a Scale outside 0.25..8 (reverse play included), a Range that is not
 * npt (clock= absolute times), a header twice, a line without ':', control bytes, a body over
 * MANSRTSP_MAX_BODY.
 */
#ifndef GB_SIGNALING_MANSRTSP_H
#define GB_SIGNALING_MANSRTSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MANSRTSP_MAX_BODY  1024 /* larger bodies are refused: real ones are under 100 bytes */
#define MANSRTSP_SCALE_MIN 0.25
#define MANSRTSP_SCALE_MAX 8.0
#define MANSRTSP_NPT_MAX   (100.0 * 365 * 86400) /* a century of recording: bounds every position */

enum mansrtsp_method { MANSRTSP_PLAY = 1, MANSRTSP_PAUSE, MANSRTSP_TEARDOWN };

enum mansrtsp_range {
    MANSRTSP_RANGE_NONE = 0, /* no Range header */
    MANSRTSP_RANGE_NOW,      /* npt=now- : resume from where it is */
    MANSRTSP_RANGE_FROM,     /* npt=N- : seek to N seconds */
    MANSRTSP_RANGE_SPAN,     /* npt=N-M : seek to N, stop at M (M > N) */
};

struct mansrtsp_request {
    enum mansrtsp_method method;
    uint32_t cseq;
    bool has_scale;
    double scale; /* MANSRTSP_SCALE_MIN..MAX when has_scale */
    enum mansrtsp_range range;
    double range_start, range_end; /* npt seconds (FROM: start; SPAN: both) */
    bool has_pause_time;
    bool pause_now;    /* PauseTime: now */
    double pause_time; /* PauseTime: N (npt seconds) when !pause_now */
};

/* Parses body[0..len) into *req. Returns 0, or EINVAL (malformed: *why says what, a static English text),
 * ERANGE (a Scale or position out of range) or EMSGSIZE (over MANSRTSP_MAX_BODY). why may be NULL. */
int mansrtsp_parse(const char *body, size_t len, struct mansrtsp_request *req, const char **why);

/* Writes req as "METHOD RTSP/1.0\r\nCSeq: n\r\n" + its Scale ("2.0", "0.25"), Range ("npt=now-",
 * "npt=120-", "npt=10.5-20") and PauseTime lines, CRLF line ends, NUL-terminated. Returns 0, EINVAL (a
 * method, Scale or position that the parser would refuse) or ENOSPC. What it writes parses back to req. */
int mansrtsp_build(char *buf, size_t size, const struct mansrtsp_request *req, size_t *len);

const char *mansrtsp_method_name(enum mansrtsp_method m);

#endif
