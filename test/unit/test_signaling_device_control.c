/*
 * Unit tests for the pure parts of signaling/device_control.c: the command table, ConfigType validation, and
 * the device's PresetQuery / ConfigDownload answers turned into JSON (including odd but real shapes:
 * non-numeric PresetIDs, empty lists, repeated elements, nested sections).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "signaling/sig_core.h"
#include "testutil.h"

static struct manscdp_msg *parse(const char *xml)
{
    struct manscdp_msg *m = NULL;
    ck_assert_int_eq(manscdp_parse((const uint8_t *)xml, strlen(xml), &m), 0);
    return m;
}

static char *dump(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    return s;
}

START_TEST(command_table)
{
    const struct control_command *c = control_command_find("keyframe");
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->element, "IFameCmd");
    ck_assert_str_eq(c->value, "Send");
    ck_assert(!c->answered);
    c = control_command_find("record_stop");
    ck_assert_str_eq(c->element, "RecordCmd");
    ck_assert_str_eq(c->value, "StopRecord");
    ck_assert(c->answered);
    ck_assert_str_eq(control_command_find("unguard")->value, "ResetGuard");
    ck_assert_str_eq(control_command_find("alarm_reset")->element, "AlarmCmd");
    ck_assert(!control_command_find("teleboot")->answered);
    ck_assert_ptr_null(control_command_find("Keyframe"));
    ck_assert_ptr_null(control_command_find(""));
    ck_assert_ptr_null(control_command_find(NULL));
}
END_TEST

START_TEST(config_types)
{
    ck_assert(control_config_type_valid("BasicParam"));
    ck_assert(control_config_type_valid("BasicParam/VideoParamOpt/SVACEncodeConfig"));
    ck_assert(control_config_type_valid("SnapShotConfig"));
    ck_assert(!control_config_type_valid(""));
    ck_assert(!control_config_type_valid(NULL));
    ck_assert(!control_config_type_valid("basicparam")); /* devices match the exact name */
    ck_assert(!control_config_type_valid("BasicParam/"));
    ck_assert(!control_config_type_valid("/BasicParam"));
    ck_assert(!control_config_type_valid("BasicParam//VideoParamOpt"));
    ck_assert(!control_config_type_valid("BasicParamX"));
    ck_assert(!control_config_type_valid("Basic"));
    ck_assert(!control_config_type_valid("BasicParam<x>"));
    char longest[400] = "BasicParam";
    for (int i = 0; i < 20; i++) strcat(longest, "/BasicParam");
    ck_assert(!control_config_type_valid(longest));
    /* every known type at once (172 characters) is still one valid query */
    ck_assert(control_config_type_valid("BasicParam/VideoParamOpt/SVACEncodeConfig/SVACDecodeConfig/"
                                        "VideoParamAttribute/VideoRecordPlan/VideoAlarmRecord/PictureMask/"
                                        "FrameMirror/AlarmReport/OSDConfig/SnapShotConfig"));
    ck_assert_str_eq(control_config_type_names(),
                     "BasicParam, VideoParamOpt, SVACEncodeConfig, SVACDecodeConfig, VideoParamAttribute, "
                     "VideoRecordPlan, VideoAlarmRecord, PictureMask, FrameMirror, AlarmReport, OSDConfig, "
                     "SnapShotConfig");
    ck_assert_str_eq(control_command_names(),
                     "keyframe, teleboot, record_start, record_stop, guard, unguard, alarm_reset");
}
END_TEST

START_TEST(presets_answer)
{
    struct manscdp_msg *m =
        parse("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><CmdType>PresetQuery</CmdType>"
              "<SN>3</SN><DeviceID>34020000001310000001</DeviceID><PresetList Num=\"3\">"
              "<Item><PresetID>1</PresetID><PresetName>大门</PresetName></Item>"
              "<Item><PresetID> 12 </PresetID></Item>"
              "<Item><PresetID>x1</PresetID><PresetName>odd</PresetName></Item>"
              "</PresetList></Response>");
    char *s = dump(control_presets_json(m));
    ck_assert_str_eq(s, "[{\"index\":1,\"name\":\"大门\"},{\"index\":12,\"name\":\"\"},"
                        "{\"index\":\"x1\",\"name\":\"odd\"}]");
    free(s);
    manscdp_free(m);
    m = parse("<Response><CmdType>PresetQuery</CmdType><SN>3</SN><DeviceID>1</DeviceID>"
              "<PresetList Num=\"0\"></PresetList></Response>");
    s = dump(control_presets_json(m));
    ck_assert_str_eq(s, "[]");
    free(s);
    manscdp_free(m);
    m = parse("<Response><CmdType>PresetQuery</CmdType><SN>3</SN><DeviceID>1</DeviceID></Response>");
    s = dump(control_presets_json(m));
    ck_assert_str_eq(s, "[]");
    free(s);
    manscdp_free(m);
}
END_TEST

START_TEST(config_answer)
{
    struct manscdp_msg *m = parse(
        "<?xml version=\"1.0\" encoding=\"GB2312\"?><Response><CmdType>ConfigDownload</CmdType><SN>9</SN>"
        "<DeviceID>34020000001320000001</DeviceID><Result>OK</Result>"
        "<BasicParam><Name>Camera</Name><Expiration>3600</Expiration><HeartBeatInterval>60</"
        "HeartBeatInterval>"
        "<HeartBeatCount>3</HeartBeatCount></BasicParam>"
        "<VideoParamOpt><DownloadSpeed>1/2/4</DownloadSpeed><Resolution>5/6</Resolution></VideoParamOpt>"
        "<VideoRecordPlan><RecordEnable>1</RecordEnable><RecordSchedule><WeekDayNum>1</WeekDayNum>"
        "</RecordSchedule><RecordSchedule><WeekDayNum>2</WeekDayNum></RecordSchedule>"
        "<RecordSchedule><WeekDayNum>3</WeekDayNum></RecordSchedule><Empty/></VideoRecordPlan>"
        "</Response>");
    char *s = dump(control_config_json(m));
    ck_assert_str_eq(
        s, "{\"BasicParam\":{\"Name\":\"Camera\",\"Expiration\":\"3600\",\"HeartBeatInterval\":\"60\","
           "\"HeartBeatCount\":\"3\"},\"VideoParamOpt\":{\"DownloadSpeed\":\"1/2/4\","
           "\"Resolution\":\"5/6\"},\"VideoRecordPlan\":{\"RecordEnable\":\"1\",\"RecordSchedule\":"
           "[{\"WeekDayNum\":\"1\"},{\"WeekDayNum\":\"2\"},{\"WeekDayNum\":\"3\"}],\"Empty\":\"\"}}");
    free(s);
    manscdp_free(m);
    /* nothing but the envelope: an empty object */
    m = parse("<Response><CmdType>ConfigDownload</CmdType><SN>9</SN><DeviceID>1</DeviceID>"
              "<Result>ERROR</Result></Response>");
    s = dump(control_config_json(m));
    ck_assert_str_eq(s, "{}");
    free(s);
    manscdp_free(m);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("signaling_device_control");
    TCase *tc = tcase_create("device_control");
    tcase_add_test(tc, command_table);
    tcase_add_test(tc, config_types);
    tcase_add_test(tc, presets_answer);
    tcase_add_test(tc, config_answer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(suite());
}
