/*
 * bat_crc32c.c - CRC-32C for the log records of exercise 3. Given complete:
 * a checksum is scaffolding here, not the lesson.
 *
 * CRC-32C uses the Castagnoli polynomial (reflected: 0x82F63B78), which
 * detects more error patterns in short messages than the CRC-32 of zlib.
 * This is the plain table-driven form, one byte per step: a few hundred
 * MB/s, far more than a log that syncs to disk needs. (Production code
 * uses the CPU's crc32 instruction or slicing-by-8.)
 */
#include "bat.h"

#include <pthread.h>

#define CRC32C_POLY 0x82F63B78u /* Castagnoli, bit-reversed */

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

/* table[b] is the CRC of the single byte b: the work of 8 shift steps. */
static void
build_table(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        table[b] = c;
    }
}

uint32_t
bat_crc32c(uint32_t crc, const void *buf, size_t len)
{
    const unsigned char *p = buf;

    pthread_once(&table_once, build_table);
    /* The register is kept inverted, so that leading zero bytes count. */
    crc = ~crc;
    while (len-- > 0)
        crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}
