/*
 * `gbsim send` command line: every option, its default and its checks, in one place (docs/GBSIM.md mirrors
 * the usage text below). Parsing is strict: a typo or an out-of-range value is a usage error (exit 2),
 * because a test that silently runs with a default instead of the shape it asked for tests nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/net.h"
#include "sim_send.h"

void sim_options_usage(FILE *out)
{
    fputs(
        "usage: gbsim send INPUT OUTPUT [options]\n"
        "inputs (one of):\n"
        "  --video FILE        H.264/H.265 Annex-B (.h264/.264/.h265/.265/.hevc), optionally with --audio\n"
        "  --vcodec h264|h265  video codec when the extension does not say\n"
        "  --fps N             video frame rate (default 25)\n"
        "  --audio FILE        G.711 A-law (.g711a/.alaw/.pcma), mu-law (.g711u/.ulaw/.pcmu), both raw 8 "
        "kHz\n"
        "                      mono cut into 40 ms frames, or AAC ADTS (.aac/.adts)\n"
        "  --acodec g711a|g711u|aac\n"
        "  --ps FILE           raw MPEG-PS file, replayed pack by pack, paced by its timestamps\n"
        "  --rtp FILE          ZLMediaKit test_rtp capture (2-byte length + RTP), replayed as captured\n"
        "output:\n"
        "  --to HOST:PORT      destination (stream i goes to PORT + i * --port-step)\n"
        "  --transport T       udp (default) | tcp (RFC 4571, connect) | tcp-listen (accept, then send)\n"
        "  --listen PORT       tcp-listen port (stream i listens on PORT + i * --port-step; with step 0 all\n"
        "                      streams share it and take connections in order)\n"
        "  --streams N         streams at once (default 1), each with its own socket and SSRC --ssrc + i\n"
        "  --port-step K       per-stream destination/listen port step (default 0)\n"
        "  --ssrc N            SSRC of stream 0 (default 200000001; --rtp: the capture's own)\n"
        "  --pt N              RTP payload type (default 96; --rtp: the capture's own)\n"
        "  --payload N         largest RTP payload in bytes (default 1400)\n"
        "  --duration S        stop after S seconds (default: when the clip ends)\n"
        "  --loop              restart the clip at its end, timestamps and seq continuing\n"
        "  --speed F           pacing speed factor (default 1 = real time; 0 = as fast as possible)\n"
        "  --gso               UDP: each run of equal-size packets of a frame leaves in one UDP_SEGMENT "
        "(GSO)\n"
        "                      send; the receiver still gets one datagram per RTP packet. For load tests:\n"
        "                      the sender's kernel work per packet shrinks (docs/PERFORMANCE.md)\n"
        "impairments (percent of packets, per stream, repeatable with --seed):\n"
        "  --loss P  --reorder P  --dup P  --seed N\n"
        "sender shapes:\n"
        "  --marker never|frame|every-packet   RTP marker policy (default frame)\n"
        "  --psm every-key|first|none          system header + PSM policy (default every-key)\n"
        "  --pes-split N       split video frames into PES of at most N payload bytes\n"
        "  --pes-len-zero      video PES with PES_packet_length 0, one per frame\n"
        "  --one-pes-per-packet  each RTP packet carries exactly one PS unit (pack header, system\n"
        "                      header, PSM or PES), PES sized to fit a packet\n"
        "  --sparse-packs      pack header only on keyframes, many PES per pack\n"
        "test outputs:\n"
        "  --stamp-log FILE    '<rtp timestamp 90k> <CLOCK_REALTIME us> <stream>' per video frame sent\n"
        "  --stamp-streams N   streams 0..N-1 in the --stamp-log (default 1; at most 4M lines are written)\n"
        "  --dump-ps FILE      stream 0: the RTP payload bytes sent (the PS stream); --to may be omitted\n"
        "At exit one JSON line of counters is printed on stdout.\n",
        out);
}

enum {
    OPT_VIDEO = 256,
    OPT_VCODEC,
    OPT_FPS,
    OPT_AUDIO,
    OPT_ACODEC,
    OPT_PS,
    OPT_RTP,
    OPT_TO,
    OPT_TRANSPORT,
    OPT_LISTEN,
    OPT_STREAMS,
    OPT_PORT_STEP,
    OPT_SSRC,
    OPT_PT,
    OPT_PAYLOAD,
    OPT_DURATION,
    OPT_LOOP,
    OPT_SPEED,
    OPT_START_SPREAD,
    OPT_GSO,
    OPT_LOSS,
    OPT_REORDER,
    OPT_DUP,
    OPT_SEED,
    OPT_MARKER,
    OPT_PSM,
    OPT_PES_SPLIT,
    OPT_PES_LEN_ZERO,
    OPT_ONE_PES,
    OPT_SPARSE,
    OPT_STAMP_LOG,
    OPT_STAMP_STREAMS,
    OPT_DUMP_PS,
};

static const struct option long_options[] = {
    {"video", required_argument, NULL, OPT_VIDEO},
    {"vcodec", required_argument, NULL, OPT_VCODEC},
    {"fps", required_argument, NULL, OPT_FPS},
    {"audio", required_argument, NULL, OPT_AUDIO},
    {"acodec", required_argument, NULL, OPT_ACODEC},
    {"ps", required_argument, NULL, OPT_PS},
    {"rtp", required_argument, NULL, OPT_RTP},
    {"to", required_argument, NULL, OPT_TO},
    {"transport", required_argument, NULL, OPT_TRANSPORT},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"streams", required_argument, NULL, OPT_STREAMS},
    {"port-step", required_argument, NULL, OPT_PORT_STEP},
    {"ssrc", required_argument, NULL, OPT_SSRC},
    {"pt", required_argument, NULL, OPT_PT},
    {"payload", required_argument, NULL, OPT_PAYLOAD},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"loop", no_argument, NULL, OPT_LOOP},
    {"speed", required_argument, NULL, OPT_SPEED},
    {"start-spread", required_argument, NULL, OPT_START_SPREAD},
    {"gso", no_argument, NULL, OPT_GSO},
    {"loss", required_argument, NULL, OPT_LOSS},
    {"reorder", required_argument, NULL, OPT_REORDER},
    {"dup", required_argument, NULL, OPT_DUP},
    {"seed", required_argument, NULL, OPT_SEED},
    {"marker", required_argument, NULL, OPT_MARKER},
    {"psm", required_argument, NULL, OPT_PSM},
    {"pes-split", required_argument, NULL, OPT_PES_SPLIT},
    {"pes-len-zero", no_argument, NULL, OPT_PES_LEN_ZERO},
    {"one-pes-per-packet", no_argument, NULL, OPT_ONE_PES},
    {"sparse-packs", no_argument, NULL, OPT_SPARSE},
    {"stamp-log", required_argument, NULL, OPT_STAMP_LOG},
    {"stamp-streams", required_argument, NULL, OPT_STAMP_STREAMS},
    {"dump-ps", required_argument, NULL, OPT_DUMP_PS},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *option_name(int opt)
{
    for (const struct option *l = long_options; l->name; l++)
        if (l->val == opt) return l->name;
    return "?";
}

static int parse_uint(const char *name, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0); /* 0x... accepted, e.g. --ssrc 0x0BEBC201 */
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
        fprintf(stderr, "gbsim send: --%s: expected an integer in %llu..%llu, got '%s'\n", name,
                (unsigned long long)min, (unsigned long long)max, s);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

static int parse_double(const char *name, const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < min || v > max) {
        fprintf(stderr, "gbsim send: --%s: expected a number in %g..%g, got '%s'\n", name, min, max, s);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

/* HOST:PORT: a numeric address through the common helper, else a name through the resolver. */
static int parse_destination(const char *text, struct sockaddr_storage *out, socklen_t *len)
{
    if (net_parse_addr(text, -1, out, len) == 0) return 0;
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text || strchr(text, ':') != colon) return -EINVAL;
    char host[256];
    snprintf(host, sizeof host, "%.*s", (int)(colon - text), text);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM}, *res;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0) return -EINVAL;
    memcpy(out, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

enum codec_id sim_codec_from_name(const char *name)
{
    static const struct {
        const char *name;
        enum codec_id codec;
    } names[] = {
        {"h264", CODEC_H264},  {"264", CODEC_H264},    {"avc", CODEC_H264},    {"h265", CODEC_H265},
        {"265", CODEC_H265},   {"hevc", CODEC_H265},   {"g711a", CODEC_G711A}, {"alaw", CODEC_G711A},
        {"pcma", CODEC_G711A}, {"g711u", CODEC_G711U}, {"ulaw", CODEC_G711U},  {"mulaw", CODEC_G711U},
        {"pcmu", CODEC_G711U}, {"aac", CODEC_AAC},     {"adts", CODEC_AAC},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i].name) == 0) return names[i].codec;
    return CODEC_NONE;
}

enum codec_id sim_codec_from_path(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot ? sim_codec_from_name(dot + 1) : CODEC_NONE;
}

static int set_enum(const char *name, const char *value, const char *const *choices, int count, int *out)
{
    for (int i = 0; i < count; i++)
        if (strcmp(value, choices[i]) == 0) {
            *out = i;
            return 0;
        }
    fprintf(stderr, "gbsim send: --%s: unknown value '%s'\n", name, value);
    return -EINVAL;
}

static int check_inputs(struct sim_options *o)
{
    int kinds = (o->video_path || o->audio_path) + !!o->ps_path + !!o->rtp_path;
    if (kinds != 1) {
        fputs("gbsim send: give exactly one input: --video/--audio, --ps or --rtp\n", stderr);
        return -EINVAL;
    }
    if (o->video_path && o->vcodec == CODEC_NONE) o->vcodec = sim_codec_from_path(o->video_path);
    if (o->video_path && o->vcodec != CODEC_H264 && o->vcodec != CODEC_H265) {
        fprintf(stderr, "gbsim send: cannot tell the video codec of %s: use --vcodec h264|h265\n",
                o->video_path);
        return -EINVAL;
    }
    if (o->audio_path && o->acodec == CODEC_NONE) o->acodec = sim_codec_from_path(o->audio_path);
    if (o->audio_path && o->acodec != CODEC_G711A && o->acodec != CODEC_G711U && o->acodec != CODEC_AAC) {
        fprintf(stderr, "gbsim send: cannot tell the audio codec of %s: use --acodec g711a|g711u|aac\n",
                o->audio_path);
        return -EINVAL;
    }
    if (!o->video_path) o->vcodec = CODEC_NONE;
    if (!o->audio_path) o->acodec = CODEC_NONE;
    return 0;
}

static int check_output(struct sim_options *o, bool transport_given)
{
    if (o->transport == SIM_TRANSPORT_TCP_LISTEN) {
        if (!o->listen_port) {
            fputs("gbsim send: --transport tcp-listen needs --listen PORT\n", stderr);
            return -EINVAL;
        }
    } else if (!o->have_dest) {
        if (!o->dump_ps || transport_given) {
            fputs("gbsim send: --to HOST:PORT is required (or --dump-ps alone for an offline run)\n", stderr);
            return -EINVAL;
        }
        o->transport = SIM_TRANSPORT_NONE;
    }
    unsigned base = o->transport == SIM_TRANSPORT_TCP_LISTEN ? o->listen_port
                    : o->have_dest                           ? sim_addr_port(&o->dest)
                                                             : 0;
    if ((uint64_t)base + (uint64_t)(o->streams - 1) * o->port_step > 65535) {
        fputs("gbsim send: --streams x --port-step runs past port 65535\n", stderr);
        return -EINVAL;
    }
    return 0;
}

int sim_options_parse(int argc, char **argv, struct sim_options *o)
{
    static const char *const transports[] = {"none", "udp", "tcp", "tcp-listen"};
    static const char *const markers[] = {"frame", "never", "every-packet"};
    static const char *const psms[] = {"every-key", "first", "none"};
    memset(o, 0, sizeof *o);
    o->fps = 25;
    o->transport = SIM_TRANSPORT_UDP;
    o->streams = 1;
    o->ssrc = 200000001u;
    o->pt = -1;
    o->payload_max = SIM_PAYLOAD_DEFAULT;
    o->speed = 1;
    o->seed = 1;
    o->stamp_streams = 1;
    bool transport_given = false;
    uint64_t u = 0;
    int e = 0, v = 0, opt;
    optind = 1;
    while (!e && (opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        const char *name = option_name(opt);
        switch (opt) {
        case OPT_VIDEO: o->video_path = optarg; break;
        case OPT_AUDIO: o->audio_path = optarg; break;
        case OPT_PS: o->ps_path = optarg; break;
        case OPT_RTP: o->rtp_path = optarg; break;
        case OPT_VCODEC:
        case OPT_ACODEC: {
            enum codec_id c = sim_codec_from_name(optarg);
            bool ok = opt == OPT_VCODEC ? codec_is_video(c) : codec_is_audio(c);
            if (!ok) {
                fprintf(stderr, "gbsim send: --%s: unknown codec '%s'\n", name, optarg);
                e = -EINVAL;
            }
            *(opt == OPT_VCODEC ? &o->vcodec : &o->acodec) = c;
            break;
        }
        case OPT_FPS: e = parse_double(name, optarg, 1, 240, &o->fps); break;
        case OPT_TO:
            if (parse_destination(optarg, &o->dest, &o->dest_len) != 0) {
                fprintf(stderr, "gbsim send: --to: cannot use '%s' (expected HOST:PORT)\n", optarg);
                e = -EINVAL;
            }
            o->have_dest = true;
            break;
        case OPT_TRANSPORT:
            e = set_enum(name, optarg, transports + 1, 3, &v);
            o->transport = (enum sim_transport)(v + 1);
            transport_given = true;
            break;
        case OPT_LISTEN:
            e = parse_uint(name, optarg, 1, 65535, &u);
            o->listen_port = (uint16_t)u;
            break;
        case OPT_STREAMS:
            e = parse_uint(name, optarg, 1, 20000, &u);
            o->streams = (unsigned)u;
            break;
        case OPT_PORT_STEP:
            e = parse_uint(name, optarg, 0, 1000, &u);
            o->port_step = (unsigned)u;
            break;
        case OPT_SSRC:
            e = parse_uint(name, optarg, 0, UINT32_MAX, &u);
            o->ssrc = (uint32_t)u;
            o->ssrc_given = true;
            break;
        case OPT_PT:
            e = parse_uint(name, optarg, 0, 127, &u);
            o->pt = (int)u;
            break;
        case OPT_PAYLOAD:
            e = parse_uint(name, optarg, 64, SIM_PAYLOAD_MAX, &u);
            o->payload_max = (unsigned)u;
            break;
        case OPT_DURATION: e = parse_double(name, optarg, 0.001, 1e7, &o->duration_s); break;
        case OPT_LOOP: o->loop = true; break;
        case OPT_GSO: o->udp_gso = true; break;
        case OPT_SPEED: e = parse_double(name, optarg, 0, 1000, &o->speed); break;
        case OPT_START_SPREAD: e = parse_double(name, optarg, 0, 3600, &o->start_spread_s); break;
        case OPT_LOSS: e = parse_double(name, optarg, 0, 100, &o->loss_pct); break;
        case OPT_REORDER: e = parse_double(name, optarg, 0, 100, &o->reorder_pct); break;
        case OPT_DUP: e = parse_double(name, optarg, 0, 100, &o->dup_pct); break;
        case OPT_SEED: e = parse_uint(name, optarg, 0, UINT64_MAX, &o->seed); break;
        case OPT_MARKER:
            e = set_enum(name, optarg, markers, 3, &v);
            o->marker = (enum sim_marker)v;
            break;
        case OPT_PSM:
            e = set_enum(name, optarg, psms, 3, &v);
            o->psm = (enum ps_mux_psm)v;
            break;
        case OPT_PES_SPLIT:
            e = parse_uint(name, optarg, 1, PS_MUX_PES_PAYLOAD_LIMIT, &u);
            o->pes_split = (uint32_t)u;
            break;
        case OPT_PES_LEN_ZERO: o->pes_len_zero = true; break;
        case OPT_ONE_PES: o->one_pes_per_packet = true; break;
        case OPT_SPARSE: o->sparse_packs = true; break;
        case OPT_STAMP_LOG: o->stamp_log = optarg; break;
        case OPT_STAMP_STREAMS:
            e = parse_uint(name, optarg, 1, 1000000, &u);
            o->stamp_streams = (unsigned)u;
            break;
        case OPT_DUMP_PS: o->dump_ps = optarg; break;
        case 'h': sim_options_usage(stdout); return 1;
        default: e = -EINVAL; break; /* getopt printed the message */
        }
    }
    if (!e && optind < argc) {
        fprintf(stderr, "gbsim send: unexpected argument '%s'\n", argv[optind]);
        e = -EINVAL;
    }
    if (!e && o->loop && o->speed == 0 && o->duration_s == 0) {
        fputs("gbsim send: --loop with --speed 0 never ends: give --duration\n", stderr);
        e = -EINVAL;
    }
    if (!e) e = check_inputs(o);
    if (!e) e = check_output(o, transport_given);
    if (e) {
        fputs("run 'gbsim send --help' for the options\n", stderr);
        return 2;
    }
    return 0;
}
