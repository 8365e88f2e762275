/*
 * Unit tests for signaling/ptz: PTZCmd strings for every named action, focus/iris, presets and addresses,
 * checked against values worked out by hand (the sums are in the comments), and raw commands that must be
 * refused with a reason.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/ptz.h"
#include "testutil.h"

static const char *action_hex(const char *action, int speed)
{
    static char hex[PTZ_HEX_LEN + 1];
    struct ptz_cmd cmd;
    ck_assert_int_eq(ptz_from_action(action, speed, &cmd), 0);
    ck_assert_int_eq(ptz_encode(&cmd, hex), 0);
    return hex;
}

static const char *preset_hex(const char *op, int index)
{
    static char hex[PTZ_HEX_LEN + 1];
    struct ptz_cmd cmd;
    ck_assert_int_eq(ptz_from_preset(op, index, &cmd), 0);
    ck_assert_int_eq(ptz_encode(&cmd, hex), 0);
    return hex;
}

START_TEST(known_moves)
{
    /* A5 0F 01 00 00 00 00: 0xA5+0x0F+0x01 = 0xB5 (the standard's own example) */
    ck_assert_str_eq(action_hex("stop", 0), "A50F0100000000B5");
    ck_assert_str_eq(action_hex("stop", 200), "A50F0100000000B5"); /* stop ignores the speed */
    /* up: command 08, tilt speed 0x80 in b6: 0xA5+0x0F+0x01+0x08+0x80 = 0x13D -> 3D */
    ck_assert_str_eq(action_hex("up", 128), "A50F01080080003D");
    /* down 128: command 04: 0x139 -> 39 */
    ck_assert_str_eq(action_hex("down", 128), "A50F010400800039");
    /* left: command 02, pan speed 0xFF in b5: 0xA5+0x0F+0x01+0x02+0xFF = 0x1B6 -> B6 */
    ck_assert_str_eq(action_hex("left", 255), "A50F0102FF0000B6");
    /* right 1: 0xA5+0x0F+0x01+0x01+0x01 = 0xB7 */
    ck_assert_str_eq(action_hex("right", 1), "A50F0101010000B7");
    /* upleft: 08|02 = 0A, both speeds 0x40: 0xA5+0x0F+0x01+0x0A+0x40+0x40 = 0x13F -> 3F */
    ck_assert_str_eq(action_hex("upleft", 64), "A50F010A4040003F");
    /* upright 09, downleft 06, downright 05 at 0x10: 0xB5 + cmd + 0x20 */
    ck_assert_str_eq(action_hex("upright", 16), "A50F0109101000DE");
    ck_assert_str_eq(action_hex("downleft", 16), "A50F0106101000DB");
    ck_assert_str_eq(action_hex("downright", 16), "A50F0105101000DA");
}
END_TEST

START_TEST(known_zoom)
{
    /* zoom in 255 -> zoom speed 15 in the high nibble of b7 (F0): 0xA5+0x0F+0x01+0x10+0xF0 = 0x1B5 -> B5 */
    ck_assert_str_eq(action_hex("zoomin", 255), "A50F01100000F0B5");
    /* zoom out 128 -> (128*15+127)/255 = 8 -> b7 0x80: 0xA5+0x0F+0x01+0x20+0x80 = 0x155 -> 55 */
    ck_assert_str_eq(action_hex("zoomout", 128), "A50F012000008055");
    /* zoom speed 0 stays 0; 9 -> (135+127)/255 = 1 -> b7 0x10: 0xC5+0x10 = 0xD5 */
    ck_assert_str_eq(action_hex("zoomin", 0), "A50F0110000000C5"); /* 0xA5+0x0F+0x01+0x10 = 0xC5 */
    ck_assert_str_eq(action_hex("zoomin", 9), "A50F0110000010D5");
}
END_TEST

START_TEST(known_focus_iris)
{
    /* focus near 42, focus speed 0x10 in b5: 0xA5+0x0F+0x01+0x42+0x10 = 0x107 -> 07 */
    ck_assert_str_eq(action_hex("focusnear", 16), "A50F014210000007");
    /* focus far 41: 0x106 -> 06 */
    ck_assert_str_eq(action_hex("focusfar", 16), "A50F014110000006");
    /* iris close 48, iris speed 0xC8 in b6: 0xA5+0x0F+0x01+0x48+0xC8 = 0x1C5 -> C5 */
    ck_assert_str_eq(action_hex("irisclose", 200), "A50F014800C800C5");
    /* iris open 44: 0x1C1 -> C1 */
    ck_assert_str_eq(action_hex("irisopen", 200), "A50F014400C800C1");
}
END_TEST

START_TEST(known_presets)
{
    /* call 3: command 82, data2 03: 0xA5+0x0F+0x01+0x82+0x03 = 0x13A -> 3A */
    ck_assert_str_eq(preset_hex("call", 3), "A50F01820003003A");
    /* set 255: 0xA5+0x0F+0x01+0x81+0xFF = 0x235 -> 35 */
    ck_assert_str_eq(preset_hex("set", 255), "A50F018100FF0035");
    /* delete 1: 0xA5+0x0F+0x01+0x83+0x01 = 0x139 -> 39 */
    ck_assert_str_eq(preset_hex("delete", 1), "A50F018300010039");
    struct ptz_cmd cmd;
    ck_assert_int_eq(ptz_from_preset("call", 0, &cmd), EINVAL);
    ck_assert_int_eq(ptz_from_preset("call", 256, &cmd), EINVAL);
    ck_assert_int_eq(ptz_from_preset("goto", 1, &cmd), EINVAL);
    ck_assert_int_eq(ptz_from_preset(NULL, 1, &cmd), EINVAL);
}
END_TEST

START_TEST(addresses_and_versions)
{
    char hex[PTZ_HEX_LEN + 1];
    /* address 0x123: low byte 23 in b3, high nibble 1 in b7; up speed 1:
     * 0xA5+0x0F+0x23+0x08+0x01+0x01 = 0xE1 */
    struct ptz_cmd cmd = {.address = 0x123, .command = PTZ_CMD_UP, .data2 = 1};
    ck_assert_int_eq(ptz_encode(&cmd, hex), 0);
    ck_assert_str_eq(hex, "A50F2308000101E1");
    /* address 0xFFF with zoom speed 15 shares b7 (FF): downright FF FF:
     * 0xA5+0x0F+0xFF+0x05+0xFF+0xFF+0xFF = 0x4B5 -> B5 */
    cmd = (struct ptz_cmd){.address = 0xFFF, .command = 0x05, .data1 = 255, .data2 = 255, .data3 = 15};
    ck_assert_int_eq(ptz_encode(&cmd, hex), 0);
    ck_assert_str_eq(hex, "A50FFF05FFFFFFB5");
    /* version 1: b2 = 0x10 | ((0xA+0x5+1) & 0xF) = 0x10; stop: 0xA5+0x10+0x01 = 0xB6 */
    cmd = (struct ptz_cmd){.version = 1, .address = 1};
    ck_assert_int_eq(ptz_encode(&cmd, hex), 0);
    ck_assert_str_eq(hex, "A5100100000000B6");
    cmd = (struct ptz_cmd){.address = 0x1000};
    ck_assert_int_eq(ptz_encode(&cmd, hex), EINVAL);
    cmd = (struct ptz_cmd){.data3 = 16};
    ck_assert_int_eq(ptz_encode(&cmd, hex), EINVAL);
    cmd = (struct ptz_cmd){.version = 16};
    ck_assert_int_eq(ptz_encode(&cmd, hex), EINVAL);
}
END_TEST

START_TEST(bad_actions)
{
    struct ptz_cmd cmd;
    ck_assert_int_eq(ptz_from_action("up", 256, &cmd), EINVAL);
    ck_assert_int_eq(ptz_from_action("up", -1, &cmd), EINVAL);
    ck_assert_int_eq(ptz_from_action("UP", 10, &cmd), EINVAL);
    ck_assert_int_eq(ptz_from_action("spin", 10, &cmd), EINVAL);
    ck_assert_int_eq(ptz_from_action("", 10, &cmd), EINVAL);
    ck_assert_int_eq(ptz_from_action(NULL, 10, &cmd), EINVAL);
}
END_TEST

START_TEST(decode_roundtrip)
{
    struct ptz_cmd cmd;
    const char *why = "unset";
    ck_assert_int_eq(ptz_decode("A50F2308000101E1", 16, &cmd, &why), 0);
    ck_assert_ptr_null(why);
    ck_assert_int_eq(cmd.version, 0);
    ck_assert_int_eq(cmd.address, 0x123);
    ck_assert_int_eq(cmd.command, PTZ_CMD_UP);
    ck_assert_int_eq(cmd.data1, 0);
    ck_assert_int_eq(cmd.data2, 1);
    ck_assert_int_eq(cmd.data3, 0);
    ck_assert_str_eq(ptz_command_name(cmd.command), "up");
    /* lower case is accepted; re-encoding gives the canonical upper case */
    ck_assert_int_eq(ptz_decode("a50f01100000f0b5", 16, &cmd, NULL), 0);
    ck_assert_int_eq(cmd.data3, 15);
    char hex[PTZ_HEX_LEN + 1];
    ck_assert_int_eq(ptz_encode(&cmd, hex), 0);
    ck_assert_str_eq(hex, "A50F01100000F0B5");
    ck_assert_int_eq(ptz_decode("A5100100000000B6", 16, &cmd, NULL), 0);
    ck_assert_int_eq(cmd.version, 1);
    ck_assert_str_eq(ptz_command_name(0x82), "preset_call");
    ck_assert_str_eq(ptz_command_name(0x0A), "upleft");
    ck_assert_str_eq(ptz_command_name(0x99), "unknown");
}
END_TEST

static void assert_refused(const char *hex, size_t len, const char *reason_part)
{
    struct ptz_cmd cmd;
    const char *why = NULL;
    ck_assert_int_eq(ptz_decode(hex, len, &cmd, &why), EINVAL);
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strstr(why, reason_part), "reason for %.*s was '%s'", (int)len, hex ? hex : "", why);
}

START_TEST(decode_malformed)
{
    assert_refused("A50F0100000000B", 15, "16 hex characters");
    assert_refused("A50F0100000000B50", 17, "16 hex characters");
    assert_refused("", 0, "16 hex characters");
    assert_refused(NULL, 16, "16 hex characters");
    assert_refused("A50F0100000000BG", 16, "hex digits");
    assert_refused("A50F01000000 0B5", 16, "hex digits");
    assert_refused("A50F01000000\0\0B5", 16, "hex digits");
    assert_refused("A40F0100000000B4", 16, "A5");
    assert_refused("A50E0100000000B4", 16, "byte 2"); /* check nibble E for version 0 */
    assert_refused("A51F0100000000C5", 16, "byte 2"); /* version 1 needs 10 */
    assert_refused("A50F0100000000B6", 16, "byte 8"); /* checksum off by one */
    assert_refused("A50F01080080003E", 16, "byte 8");
    /* a valid command embedded in a longer buffer: only len characters count */
    struct ptz_cmd cmd;
    ck_assert_int_eq(ptz_decode("A50F0100000000B5XYZ", 16, &cmd, NULL), 0);
}
END_TEST

/* PTZCmds a real platform sent (sip-samples/vectors, dr34m's capture, PTZ address 0): each one validates,
 * decodes to the move it is, re-encodes to the same string, and the encoder makes the same bytes for it. */
static const char *sample_ptzcmd(const char *file, char out[PTZ_HEX_LEN + 1])
{
    const char *path = test_shared_path(file);
    if (!path) return NULL;
    size_t len = 0;
    uint8_t *text = test_read_file(path, &len);
    ck_assert_ptr_nonnull(text);
    const char *open = strstr((const char *)text, "<PTZCmd>");
    ck_assert_ptr_nonnull(open);
    memcpy(out, open + 8, PTZ_HEX_LEN);
    out[PTZ_HEX_LEN] = 0;
    free(text);
    return out;
}

START_TEST(real_platform_commands)
{
    static const struct {
        const char *file, *action;
        int speed;
    } cases[] = {
        {"sip-samples/vectors/dr34m_26_MESSAGE_DeviceControl.sip", "up", 0x64},
        {"sip-samples/vectors/dr34m_28_MESSAGE_DeviceControl.sip", "stop", 0},
        {"sip-samples/vectors/dr34m_30_MESSAGE_DeviceControl.sip", "focusfar", -1}, /* iris speed 0x64 too */
        {"sip-samples/vectors/dr34m_32_MESSAGE_DeviceControl.sip", "stop", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char hex[PTZ_HEX_LEN + 1], again[PTZ_HEX_LEN + 1];
        if (!sample_ptzcmd(cases[i].file, hex)) return; /* SKIP printed by test_shared_path */
        struct ptz_cmd cmd;
        const char *why = NULL;
        ck_assert_msg(ptz_decode(hex, PTZ_HEX_LEN, &cmd, &why) == 0, "%s: %s", hex, why ? why : "");
        ck_assert_uint_eq(cmd.address, 0);
        ck_assert_str_eq(ptz_command_name(cmd.command), cases[i].action);
        ck_assert_int_eq(ptz_encode(&cmd, again), 0);
        ck_assert_str_eq(again, hex);
        if (cases[i].speed >= 0) { /* and our own encoder, addressed like that platform, says the same */
            struct ptz_cmd mine;
            ck_assert_int_eq(ptz_from_action(cases[i].action, cases[i].speed, &mine), 0);
            mine.address = 0;
            ck_assert_int_eq(ptz_encode(&mine, again), 0);
            ck_assert_str_eq(again, hex);
        }
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("signaling_ptz");
    TCase *tc = tcase_create("ptz");
    tcase_add_test(tc, known_moves);
    tcase_add_test(tc, known_zoom);
    tcase_add_test(tc, known_focus_iris);
    tcase_add_test(tc, known_presets);
    tcase_add_test(tc, addresses_and_versions);
    tcase_add_test(tc, bad_actions);
    tcase_add_test(tc, decode_roundtrip);
    tcase_add_test(tc, decode_malformed);
    tcase_add_test(tc, real_platform_commands);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(suite());
}
