/*
 * mon_num.c - given complete: the one decimal reader of chapter 08's
 * parsers (/proc/diskstats, /proc/PID/stat, /proc/PID/io).
 *
 * strtoull would do the wrong thing three ways here: it skips leading
 * blanks, accepts a sign (and negates), and clamps an overflow to
 * ULLONG_MAX. A kernel counter is digits and only digits.
 */
#include "mon.h"

bool
mon_parse_u64(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;

    if (*s < '0' || *s > '9')
        return false;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned digit = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return false; /* one more digit would pass UINT64_MAX */
        v = v * 10 + digit;
    }
    *p = s;
    *out = v;
    return true;
}
