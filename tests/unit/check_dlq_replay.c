/* check_dlq_replay.c - the replay plan shared by sagactl and saga-console
 * (tools/shared/dlq_replay.h): entries of one original message are replayed once,
 * and a message is named by its position and timestamp, so two messages that share
 * a position (a topic whose offsets started again at 0) are two. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dlq_replay.h"

/* A dead letter whose payload is not a valid event (no event id). */
static dlq_entry entry(int32_t dlq_offset, int32_t partition, int64_t offset, int64_t timestamp)
{
    return (dlq_entry){.partition = 0,
                       .offset = dlq_offset,
                       .timestamp = -1,
                       .orig_topic = "inventory-events",
                       .orig_partition = partition,
                       .orig_offset = offset,
                       .orig_timestamp = timestamp,
                       .attempts = 1};
}

static bool picked_all(const dlq_entry *e, void *ud)
{
    (void)e;
    (void)ud;
    return true;
}

START_TEST(test_one_message_dead_lettered_twice_is_replayed_once)
{
    /* order and payment both dead-lettered the same message */
    dlq_entry e[] = {entry(0, 3, 5, 1767225600000), entry(1, 3, 5, 1767225600000)};
    dlq_replay_item it[] = {{.e = &e[0]}, {.e = &e[1]}};
    dlq_replay_plan(it, 2, picked_all, NULL);
    ck_assert_int_eq(it[0].state, DLQ_REPLAY_PENDING);
    ck_assert_int_eq(it[1].state, DLQ_REPLAY_SKIPPED);
    ck_assert_ptr_eq(it[1].same_as, &it[0]);
}
END_TEST

START_TEST(test_two_messages_at_one_position_are_both_replayed)
{
    /* the same position, before and after the topic's offsets started again */
    dlq_entry e[] = {entry(0, 3, 5, 1767225600000), entry(1, 3, 5, 1767229200000)};
    dlq_replay_item it[] = {{.e = &e[0]}, {.e = &e[1]}};
    dlq_replay_plan(it, 2, picked_all, NULL);
    ck_assert_int_eq(it[0].state, DLQ_REPLAY_PENDING);
    ck_assert_int_eq(it[1].state, DLQ_REPLAY_PENDING);
    ck_assert_ptr_null(it[1].same_as);
}
END_TEST

static Suite *dlq_replay_suite(void)
{
    Suite *s = suite_create("dlq_replay");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_one_message_dead_lettered_twice_is_replayed_once);
    tcase_add_test(tc, test_two_messages_at_one_position_are_both_replayed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dlq_replay_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
