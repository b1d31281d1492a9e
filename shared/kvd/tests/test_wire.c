/*
 * test_wire.c - the wire module shared by the RESP client and kvd
 * (shared/kvd/wire.h): the one decimal reader and the one header writer.
 */
#include "../wire.h"

#include <limits.h>
#include <string.h>

#include "iolab/testkit.h"

/* wire_parse_ll on a NUL-terminated string. */
static bool
parse(const char *s, long long *out)
{
    return wire_parse_ll(s, strlen(s), out);
}

TK_TEST(wire, parse_accepts,
        .description = "[WIRE-1] signs, leading zeros and both ends of the "
                       "range parse exactly")
{
    static const struct {
        const char *s;
        long long v;
    } ok[] = {
        {"0", 0},
        {"-0", 0},
        {"7", 7},
        {"-1", -1},
        {"007", 7},
        {"16777216", 16777216},
        {"9223372036854775807", LLONG_MAX},
        {"-9223372036854775808", LLONG_MIN},
        {"0000000000000000001", 1},
    };

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        long long v = 42;
        cr_assert(parse(ok[i].s, &v), "'%s' must parse", ok[i].s);
        cr_assert_eq(v, ok[i].v, "'%s' parsed as %lld", ok[i].s, v);
    }
    /* Only len bytes are read: what follows does not matter. */
    long long v = 0;
    cr_assert(wire_parse_ll("12\r\n", 2, &v) && v == 12);
}

TK_TEST(wire, parse_refuses,
        .description = "[WIRE-2] empty, a lone '-', other bytes, 20 digits "
                       "and overflow are refused, *out untouched")
{
    static const char *const bad[] = {
        "",
        "-",
        "+1",
        " 1",
        "1 ",
        "1a",
        "--1",
        "1-",
        "0x10",
        "9223372036854775808",
        "-9223372036854775809",
        "99999999999999999999",
        "00000000000000000001",
        "\r\n",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long long v = 42;
        cr_assert(!parse(bad[i], &v), "'%s' must be refused", bad[i]);
        cr_assert_eq(v, 42, "'%s': *out was written", bad[i]);
    }
    long long v = 42;
    cr_assert(!wire_parse_ll("12", 0, &v) && v == 42);
}

TK_TEST(wire, put_header_exact,
        .description = "[WIRE-3] headers are written byte for byte, "
                       "negatives and the extremes included")
{
    static const struct {
        char type;
        long long n;
        const char *want;
    } cases[] = {
        {'*', 0, "*0\r\n"},
        {'$', 3, "$3\r\n"},
        {'$', -1, "$-1\r\n"},
        {':', 1000, ":1000\r\n"},
        {':', LLONG_MAX, ":9223372036854775807\r\n"},
        {':', LLONG_MIN, ":-9223372036854775808\r\n"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[WIRE_HEADER_MAX + 8];
        memset(buf, 'x', sizeof(buf));
        size_t n = wire_put_header(buf, cases[i].type, cases[i].n);
        cr_assert_eq(n, strlen(cases[i].want));
        cr_assert(n <= WIRE_HEADER_MAX);
        cr_assert(memcmp(buf, cases[i].want, n) == 0, "wrote '%.*s'", (int)n,
                  buf);
        cr_assert_eq(buf[n], 'x', "a byte past the header was written");
    }
}
