/*
 * test_rw_hidden.c - a hidden test of chapter 01's exercise 1 (the
 * manifest marks it `hidden`; the student edition leaves this file out).
 *
 * The visible tests each inject one kind of fault at a time. This one
 * mixes them in an irregular order, so a solution shaped to the visible
 * plans (one EINTR, short reads of one size, an error on the second call)
 * fails here while a solution that keeps a running position and retries
 * every EINTR passes.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "iolab/fault.h"
#include "iolab/testkit.h"
#include "nb.h"

TK_TEST(rw, mixed_faults,
        .description = "[NB-1][NB-5][NB-6][NB-7] short transfers of "
                       "changing sizes, EINTR in runs, then an error: the "
                       "position is kept and the error wins")
{
    char src[1000], dst[1000];
    int p[2];

    tk_fill(src, sizeof(src), 77);
    tk_pipe(p);
    tk_write_all(p[1], src, sizeof(src));
    cr_assert_eq(
        fi_plan(FI_READ, "short:3 eintr short:1 eintr eintr short:13 *"), 0);
    memset(dst, 0, sizeof(dst));
    ssize_t n = nb_read_full(p[0], dst, sizeof(dst));
    cr_assert_eq(n, 1000,
                 "reads cut to 3, 1 and then 13 bytes, with EINTR once and "
                 "then twice in a row: nb_read_full returned %zd, expected "
                 "1000",
                 n);
    cr_assert_arr_eq(dst, src, sizeof(src),
                     "the bytes differ from what was written: a short read "
                     "must be followed by a read at the new position");
    close(p[0]);
    close(p[1]);

    tk_pipe(p);
    cr_assert_eq(
        fi_plan(FI_WRITE, "eintr short:5 eintr eintr short:2 err:EPIPE"), 0);
    n = nb_write_full(p[1], src, sizeof(src));
    cr_assert_eq(n, -EPIPE,
                 "7 bytes were written in two short writes between EINTRs, "
                 "then write() failed with EPIPE: expected -EPIPE (-32), "
                 "got %zd",
                 n);
    close(p[1]);
    cr_assert_eq(tk_read_exact(p[0], dst, sizeof(dst), 2000), 7,
                 "exactly the 7 bytes accepted before the error should be in "
                 "the pipe");
    cr_assert_arr_eq(dst, src, 7,
                     "the pipe holds other bytes than the first 7 of buf");
    close(p[0]);
}
