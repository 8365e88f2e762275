/*
 * PTZCmd encoder/decoder (see ptz.h for the byte layout). Named actions are a table: each gives the command
 * byte and which speed fields the speed goes to, so that "upleft" is simply up|left with both pan and tilt
 * speeds, and nothing about the layout is repeated per action.
 */
#include <errno.h>
#include <string.h>

#include "signaling/ptz.h"

#define PTZ_LEAD 0xA5

/* Where an action's speed is written. */
enum speed_slot { SPEED_NONE = 0, SPEED_PAN = 1, SPEED_TILT = 2, SPEED_ZOOM = 4 };

struct action {
    const char *name;
    uint8_t command;
    unsigned slots; /* enum speed_slot bits */
};

static const struct action actions[] = {
    {"stop", PTZ_CMD_STOP, SPEED_NONE},
    {"up", PTZ_CMD_UP, SPEED_TILT},
    {"down", PTZ_CMD_DOWN, SPEED_TILT},
    {"left", PTZ_CMD_LEFT, SPEED_PAN},
    {"right", PTZ_CMD_RIGHT, SPEED_PAN},
    {"upleft", PTZ_CMD_UP | PTZ_CMD_LEFT, SPEED_PAN | SPEED_TILT},
    {"upright", PTZ_CMD_UP | PTZ_CMD_RIGHT, SPEED_PAN | SPEED_TILT},
    {"downleft", PTZ_CMD_DOWN | PTZ_CMD_LEFT, SPEED_PAN | SPEED_TILT},
    {"downright", PTZ_CMD_DOWN | PTZ_CMD_RIGHT, SPEED_PAN | SPEED_TILT},
    {"zoomin", PTZ_CMD_ZOOM_IN, SPEED_ZOOM},
    {"zoomout", PTZ_CMD_ZOOM_OUT, SPEED_ZOOM},
    /* FI commands: data1 is the focus speed, data2 the iris speed (same slots as pan/tilt) */
    {"focusfar", PTZ_CMD_FOCUS_FAR, SPEED_PAN},
    {"focusnear", PTZ_CMD_FOCUS_NEAR, SPEED_PAN},
    {"irisopen", PTZ_CMD_IRIS_OPEN, SPEED_TILT},
    {"irisclose", PTZ_CMD_IRIS_CLOSE, SPEED_TILT},
};

static const struct {
    const char *op;
    uint8_t command;
} presets[] = {
    {"set", PTZ_CMD_PRESET_SET},
    {"call", PTZ_CMD_PRESET_CALL},
    {"delete", PTZ_CMD_PRESET_DELETE},
};

int ptz_from_action(const char *action, int speed, struct ptz_cmd *cmd)
{
    if (!action || speed < 0 || speed > 255) return EINVAL;
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        if (strcmp(actions[i].name, action)) continue;
        *cmd = (struct ptz_cmd){.address = PTZ_DEFAULT_ADDRESS, .command = actions[i].command};
        if (actions[i].slots & SPEED_PAN) cmd->data1 = (uint8_t)speed;
        if (actions[i].slots & SPEED_TILT) cmd->data2 = (uint8_t)speed;
        /* 0-255 onto the 4-bit zoom speed, rounded: 255 -> 15, 128 -> 8, 0 -> 0 */
        if (actions[i].slots & SPEED_ZOOM) cmd->data3 = (uint8_t)((speed * 15 + 127) / 255);
        return 0;
    }
    return EINVAL;
}

int ptz_from_preset(const char *op, int index, struct ptz_cmd *cmd)
{
    if (!op || index < 1 || index > PTZ_MAX_PRESET) return EINVAL;
    for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++) {
        if (strcmp(presets[i].op, op)) continue;
        *cmd = (struct ptz_cmd){.address = PTZ_DEFAULT_ADDRESS, .command = presets[i].command};
        cmd->data2 = (uint8_t)index;
        return 0;
    }
    return EINVAL;
}

static uint8_t version_byte(uint8_t version)
{
    return (uint8_t)((version << 4) | ((0xA + 0x5 + version) & 0xF));
}

int ptz_encode(const struct ptz_cmd *cmd, char out[PTZ_HEX_LEN + 1])
{
    if (cmd->version > 15 || cmd->address > PTZ_MAX_ADDRESS || cmd->data3 > 15) return EINVAL;
    uint8_t b[8];
    b[0] = PTZ_LEAD;
    b[1] = version_byte(cmd->version);
    b[2] = (uint8_t)(cmd->address & 0xFF);
    b[3] = cmd->command;
    b[4] = cmd->data1;
    b[5] = cmd->data2;
    b[6] = (uint8_t)((cmd->data3 << 4) | ((cmd->address >> 8) & 0xF));
    unsigned sum = 0;
    for (int i = 0; i < 7; i++) sum += b[i];
    b[7] = (uint8_t)(sum & 0xFF);
    static const char digits[] = "0123456789ABCDEF";
    for (int i = 0; i < 8; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 0xF];
    }
    out[PTZ_HEX_LEN] = 0;
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static int fail(const char **why, const char *reason)
{
    if (why) *why = reason;
    return EINVAL;
}

int ptz_decode(const char *hex, size_t len, struct ptz_cmd *cmd, const char **why)
{
    if (!hex || len != PTZ_HEX_LEN) return fail(why, "a PTZCmd is 16 hex characters (8 bytes)");
    uint8_t b[8];
    for (size_t i = 0; i < 8; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return fail(why, "a PTZCmd has only hex digits 0-9 A-F");
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    if (b[0] != PTZ_LEAD) return fail(why, "byte 1 of a PTZCmd must be A5");
    uint8_t version = b[1] >> 4;
    if (b[1] != version_byte(version))
        return fail(why,
                    "byte 2 of a PTZCmd must be the version and (0xA+0x5+version)&0xF (0F for version 0)");
    unsigned sum = 0;
    for (int i = 0; i < 7; i++) sum += b[i];
    if ((uint8_t)(sum & 0xFF) != b[7])
        return fail(why, "byte 8 of a PTZCmd must be the sum of bytes 1-7 mod 256");
    *cmd = (struct ptz_cmd){
        .version = version,
        .address = (uint16_t)(b[2] | (b[6] & 0xF) << 8),
        .command = b[3],
        .data1 = b[4],
        .data2 = b[5],
        .data3 = b[6] >> 4,
    };
    if (why) *why = NULL;
    return 0;
}

const char *ptz_command_name(uint8_t command)
{
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        if (actions[i].command == command) return actions[i].name;
    switch (command) {
    case PTZ_CMD_PRESET_SET: return "preset_set";
    case PTZ_CMD_PRESET_CALL: return "preset_call";
    case PTZ_CMD_PRESET_DELETE: return "preset_delete";
    default: return "unknown";
    }
}
