/*
 * sigbus.c - what happens when a mapped file shrinks under the mapping.
 *
 * The demo maps a two-page file, truncates it to 100 bytes behind the
 * mapping's back (as another process could at any moment), and then reads
 * through the mapping three times:
 *   1. inside the file's remaining 100 bytes: the data;
 *   2. past the new end but in the same page: zeros, no error;
 *   3. in the second page, now wholly past the end: SIGBUS.
 * It catches the SIGBUS, prints what the kernel said, and explains it.
 *
 * Build it with `make demos CH=03`, which prints where it put it, and run
 * that path (it needs no argument).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iolab/die.h"

static sigjmp_buf recover;
static volatile sig_atomic_t caught;
static void *volatile fault_addr;
static volatile int fault_code;

static void
on_sigbus(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    caught = 1;
    fault_addr = si->si_addr;
    fault_code = si->si_code;
    /*
     * Returning would run the faulting load again and fault again, for
     * ever. Jump out instead; siglongjmp restores the signal mask that
     * sigsetjmp saved, so SIGBUS is unblocked again.
     */
    siglongjmp(recover, 1);
}

/* Reads one byte through the mapping; returns it, or -1 after SIGBUS. */
static int
touch(const volatile unsigned char *p)
{
    if (sigsetjmp(recover, 1) != 0)
        return -1;
    return *p;
}

int
main(int argc, char **argv)
{
    char path[] = "/tmp/iolab-sigbus-XXXXXX";
    long page = sysconf(_SC_PAGESIZE);
    struct sigaction sa = {.sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO};

    (void)argc;
    die_init(argv[0]);
    int fd = mkstemp(path);
    if (fd == -1)
        die_errno("create", path);
    unlink(path); /* the file lives as long as fd and the mapping do */

    unsigned char *buf = malloc((size_t)(2 * page));
    if (buf == NULL)
        die("out of memory");
    memset(buf, 'A', (size_t)(2 * page));
    if (write(fd, buf, (size_t)(2 * page)) != 2 * page)
        die_errno("write", path);
    free(buf);

    unsigned char *map =
        mmap(NULL, (size_t)(2 * page), PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        die_errno("mmap", path);
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGBUS, &sa, NULL) == -1)
        die_errno("sigaction", "SIGBUS");

    printf("mapped a %ld-byte file (2 pages of 'A') at %p\n", 2 * page,
           (void *)map);
    printf("before: byte 50 = '%c', byte %ld = '%c'\n", touch(map + 50),
           page + 50, touch(map + page + 50));

    if (ftruncate(fd, 100) == -1)
        die_errno("truncate", path);
    printf("\nthe file is now truncated to 100 bytes; the mapping is "
           "unchanged\n");

    int c = touch(map + 50);
    printf("1. byte 50 (inside the file):              '%c'\n", c);
    c = touch(map + 200);
    printf("2. byte 200 (past the end, same page):     %d (a zero: the "
           "tail of the last page reads as zeros)\n",
           c);
    c = touch(map + page + 50);
    if (c >= 0) {
        printf("3. byte %ld (second page): %d, and no SIGBUS?\n", page + 50, c);
        return 1;
    }
    printf("3. byte %ld (second page, wholly past the end): SIGBUS\n",
           page + 50);
    printf("   si_addr = %p (offset %ld in the mapping), si_code = %s\n",
           fault_addr, (long)((unsigned char *)fault_addr - map),
           fault_code == BUS_ADRERR ? "BUS_ADRERR (nonexistent physical "
                                      "address)"
                                    : "other");
    printf("\nWhy: a mapping is a promise about addresses, made when mmap "
           "was called;\n"
           "the file's size is checked again at each page fault. A page "
           "that lies\n"
           "wholly past the end of the file has nothing behind it, so "
           "the kernel\n"
           "cannot satisfy the fault and sends SIGBUS. There is no error "
           "code to\n"
           "return: the access was an ordinary load instruction. A "
           "program that maps\n"
           "files others may truncate must either trust them, hold a "
           "lease or lock\n"
           "that keeps them out, or catch SIGBUS as this demo does.\n");
    munmap(map, (size_t)(2 * page));
    close(fd);
    return 0;
}
