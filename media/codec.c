#include "media/codec.h"

const char *codec_name(enum codec_id c)
{
    switch (c) {
    case CODEC_H264: return "h264";
    case CODEC_H265: return "h265";
    case CODEC_MPEG4V: return "mpeg4";
    case CODEC_SVAC: return "svac";
    case CODEC_AAC: return "aac";
    case CODEC_G711A: return "g711a";
    case CODEC_G711U: return "g711u";
    case CODEC_G722: return "g722";
    case CODEC_G723: return "g723";
    case CODEC_G729: return "g729";
    case CODEC_OPUS: return "opus";
    case CODEC_MP3: return "mp3";
    case CODEC_NONE: break;
    }
    return "none";
}

enum codec_id codec_from_ps_stream_type(uint8_t t)
{
    switch (t) {
    case 0x1b: return CODEC_H264;
    case 0x24: return CODEC_H265;
    case 0x10: return CODEC_MPEG4V;
    case 0x80: return CODEC_SVAC;
    case 0x0f: return CODEC_AAC;
    case 0x03:
    case 0x04: return CODEC_MP3;
    case 0x90: return CODEC_G711A;
    case 0x91: return CODEC_G711U;
    case 0x92: return CODEC_G722;
    case 0x93: return CODEC_G723;
    case 0x99: return CODEC_G729;
    default: return CODEC_NONE;
    }
}

uint8_t codec_to_ps_stream_type(enum codec_id c)
{
    switch (c) {
    case CODEC_H264: return 0x1b;
    case CODEC_H265: return 0x24;
    case CODEC_MPEG4V: return 0x10;
    case CODEC_SVAC: return 0x80;
    case CODEC_AAC: return 0x0f;
    case CODEC_MP3: return 0x04;
    case CODEC_G711A: return 0x90;
    case CODEC_G711U: return 0x91;
    case CODEC_G722: return 0x92;
    case CODEC_G723: return 0x93;
    case CODEC_G729: return 0x99;
    default: return 0;
    }
}

uint32_t codec_fixed_sample_rate(enum codec_id c)
{
    switch (c) {
    case CODEC_G711A:
    case CODEC_G711U:
    case CODEC_G723:
    case CODEC_G729: return 8000;
    case CODEC_G722: return 16000;
    default: return 0;
    }
}
