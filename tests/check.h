/*
 * tests/check.h -- the few assertions every C test uses.
 *
 * A test file is a main() that calls TEST(fn) for each case; a failed CHECK
 * prints file:line and the expression, marks the case failed and returns from
 * it. The program exits 1 if any case failed, which meson counts as a failure.
 */
#ifndef MR_TEST_CHECK_H
#define MR_TEST_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failed_cases_ __attribute__((unused));
static int check_case_failed_ __attribute__((unused));
static int expect_failures_ __attribute__((unused));

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
            check_case_failed_ = 1;                                                                \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_U64(a, b)                                                                         \
    do {                                                                                           \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                           \
        if (a_ != b_) {                                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%" PRIu64 " != %" PRIu64 ")\n",        \
                    __FILE__, __LINE__, #a, #b, a_, b_);                                           \
            check_case_failed_ = 1;                                                                \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_STR_EQ(a, b)                                                                         \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" != \"%s\")\n", __FILE__,        \
                    __LINE__, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");                     \
            check_case_failed_ = 1;                                                                \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define TEST(fn)                                                                                   \
    do {                                                                                           \
        check_case_failed_ = 0;                                                                    \
        fn();                                                                                      \
        if (check_case_failed_) check_failed_cases_++;                                             \
        fprintf(stderr, "%s %s\n", check_case_failed_ ? "FAIL" : "ok  ", #fn);                     \
    } while (0)

#define TEST_EXIT() return check_failed_cases_ ? 1 : 0

/*
 * EXPECT: a check that goes on after a failure, for a test that must run
 * to its end whatever it finds (a main() stepping a program through its
 * stages, a thread's function): failures are counted, and EXPECT_EXIT()
 * says how many and gives main's exit status.
 */
#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            expect_failures_++;                                                                    \
        }                                                                                          \
    } while (0)

#define EXPECT_EXIT()                                                                              \
    do {                                                                                           \
        if (expect_failures_) fprintf(stderr, "%d check(s) failed\n", expect_failures_);           \
        return expect_failures_ ? 1 : 0;                                                           \
    } while (0)

/*
 * EXACT_RECLAIM: whether a test may promise that one particular object was
 * reclaimed. Stacks are scanned conservatively; under AddressSanitizer,
 * instrumented frames are large and keep stale words in slots the code never
 * initializes, so such checks run in the optimized build only (the sanitizer
 * build still checks that nothing crashes).
 */
#if defined(__SANITIZE_ADDRESS__)
#define EXACT_RECLAIM 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EXACT_RECLAIM 0
#endif
#endif
#ifndef EXACT_RECLAIM
#define EXACT_RECLAIM 1
#endif

#endif
