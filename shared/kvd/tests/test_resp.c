/* test_resp.c - the RESP client library's tests (work in progress). */
#include "iolab/resp.h"
#include "iolab/testkit.h"

TK_TEST(resp, placeholder, .description = "[RESP-1] placeholder")
{
    struct resp_buf b;

    resp_buf_init(&b);
    resp_buf_free(&b);
}
