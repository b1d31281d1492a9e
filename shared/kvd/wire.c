/*
 * wire.c - the decimal reader and the header writer of wire.h, shared by
 * the RESP client and kvd. The one place either is written.
 */
#include "wire.h"

#include <limits.h>

bool
wire_parse_ll(const char *p, size_t len, long long *out)
{
    bool neg = len > 0 && p[0] == '-';
    unsigned long long v = 0;
    size_t i = neg;

    /* 19 digits cannot overflow the unsigned accumulator (< 10^19). */
    if (i == len || len - i > 19)
        return false;
    for (; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    /* LLONG_MIN's magnitude is one more than LLONG_MAX. */
    if (v > (unsigned long long)LLONG_MAX + neg)
        return false;
    *out = neg ? (long long)(0 - v) : (long long)v;
    return true;
}

size_t
wire_put_header(char *p, char type, long long n)
{
    char digits[20];
    size_t nd = 0, len = 0;
    /* The magnitude in unsigned arithmetic: -LLONG_MIN would overflow. */
    unsigned long long v =
        n < 0 ? 0 - (unsigned long long)n : (unsigned long long)n;

    do {
        digits[nd++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    p[len++] = type;
    if (n < 0)
        p[len++] = '-';
    while (nd > 0)
        p[len++] = digits[--nd];
    p[len++] = '\r';
    p[len++] = '\n';
    return len;
}
