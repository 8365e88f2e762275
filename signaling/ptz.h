/*
 * PTZCmd codec: the 8-byte front-end control command of GB28181 DeviceControl, written as 16 upper-case hex
 * characters in <PTZCmd> (GB28181.md section 7, GB/T 28181 annex A.3).
 *
 *   b1 A5 | b2 version<<4 | check nibble | b3 address low 8 bits | b4 command | b5 data1 | b6 data2 |
 *   b7 data3<<4 | address high 4 bits | b8 sum of b1..b7 mod 256
 *
 * The check nibble of b2 is (0xA + 0x5 + version) & 0xF, so version 0 gives 0F. Commands:
 *   PTZ  0x00-0x3F: bits 0x01 right, 0x02 left, 0x04 down, 0x08 up, 0x10 zoom in, 0x20 zoom out;
 *        data1 pan speed, data2 tilt speed, data3 zoom speed (4 bits). 0x00 with zero data is "stop".
 *   FI   0x40-0x4F: 0x41 focus far, 0x42 focus near, 0x44 iris open, 0x48 iris close;
 *        data1 focus speed, data2 iris speed.
 *   preset 0x81 set, 0x82 call, 0x83 delete; data2 the preset number 1-255.
 *
 * A pure module (no I/O, no allocation): the API encodes names into commands with it, validates raw commands
 * an operator sends, and the simulator could decode what it received. Functions return 0 or EINVAL; the
 * parser also gives a one-line reason for the API's 400 answer.
 */
#ifndef GB_SIGNALING_PTZ_H
#define GB_SIGNALING_PTZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PTZ_HEX_LEN         16 /* characters of a PTZCmd */
#define PTZ_DEFAULT_ADDRESS 1  /* what platforms send: A50F01... */
#define PTZ_MAX_ADDRESS     0xFFF
#define PTZ_MAX_PRESET      255

/* Command byte values (b4). */
enum {
    PTZ_CMD_STOP = 0x00,
    PTZ_CMD_RIGHT = 0x01,
    PTZ_CMD_LEFT = 0x02,
    PTZ_CMD_DOWN = 0x04,
    PTZ_CMD_UP = 0x08,
    PTZ_CMD_ZOOM_IN = 0x10,
    PTZ_CMD_ZOOM_OUT = 0x20,
    PTZ_CMD_FOCUS_FAR = 0x41,
    PTZ_CMD_FOCUS_NEAR = 0x42,
    PTZ_CMD_IRIS_OPEN = 0x44,
    PTZ_CMD_IRIS_CLOSE = 0x48,
    PTZ_CMD_PRESET_SET = 0x81,
    PTZ_CMD_PRESET_CALL = 0x82,
    PTZ_CMD_PRESET_DELETE = 0x83,
};

/* The decoded fields of one command. */
struct ptz_cmd {
    uint8_t version;  /* 0-15; 0 in practice */
    uint16_t address; /* 0-4095 (12 bits over b3 and b7) */
    uint8_t command;  /* b4 */
    uint8_t data1, data2;
    uint8_t data3; /* 0-15 */
};

/* Fills cmd for a named action ("up" ... "zoomout", "stop", "focusnear", "focusfar", "irisopen",
 * "irisclose") at speed 0-255 (zoom speed is scaled to 0-15), address PTZ_DEFAULT_ADDRESS. EINVAL for an
 * unknown name or a speed out of range. */
int ptz_from_action(const char *action, int speed, struct ptz_cmd *cmd);
/* Fills cmd for a preset operation ("set", "call", "delete") on index 1-255. EINVAL otherwise. */
int ptz_from_preset(const char *op, int index, struct ptz_cmd *cmd);

/* Writes the 16 hex characters and a NUL into out. EINVAL when a field is out of range (version > 15,
 * address > 4095, data3 > 15). */
int ptz_encode(const struct ptz_cmd *cmd, char out[PTZ_HEX_LEN + 1]);

/* Parses and validates a raw command of len characters (hex digits of either case, no spaces): length, hex,
 * A5 lead byte, version check nibble and checksum. On EINVAL *why (when not NULL) says what is wrong. */
int ptz_decode(const char *hex, size_t len, struct ptz_cmd *cmd, const char **why);

/* The name of a command byte ("up", "upleft", "preset_call", "focusnear", ...), "unknown" otherwise. */
const char *ptz_command_name(uint8_t command);

#endif
