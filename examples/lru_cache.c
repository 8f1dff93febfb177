/*
 * examples/lru_cache.c -- no leak: a bounded cache that warms up and then
 * plateaus.
 *
 * A toy profile service keeps the rendered profile pages of its users in a
 * least-recently-used cache: the global page_cache, a map[string]*Page,
 * plus a doubly-linked list of the pages from the most to the least
 * recently used. A hit moves the page to the front; a miss renders the page
 * (0.5-1.5 KiB of bytes) and, once the cache holds CAPACITY pages, evicts
 * the page at the back of the list (mr_map_delete and unlink). Requests
 * come for users drawn from a population far larger than the cache, so the
 * cache fills during the first collections and then stays at CAPACITY
 * while pages keep changing: its entries and its retained bytes plateau.
 *
 * This is the counterpart of sessiond: the same shape of map, held by a
 * global the same way, growing fast at first -- and not a leak. A leak
 * gate must let it pass (maproot gate's growth rule looks at the last
 * intervals of the run, not at the warm-up). The program checks its own
 * bound and exits 1 if the cache ever held more than CAPACITY pages.
 */
#include "example.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

enum { CAPACITY = 10000, USERS = 1000000, REQUESTS = 400000 };

typedef struct Page {
    mr_str user;   /* the map key, shared with the map */
    uint8_t *html; /* blob: the rendered page */
    size_t len;
    struct Page *prev, *next; /* the recency list, most recent first */
} Page;

MR_TYPE(page_type, Page, MR_FIELD(Page, user.ptr), MR_FIELD(Page, html), MR_FIELD(Page, prev),
        MR_FIELD(Page, next));

static const mr_map_type page_map_type = {
    .name = "map[string]*Page",
    .key_kind = MR_KEY_STRING,
    .key_type = NULL,
    .value_type = &mr_type_pointer,
};

/* The cache: user -> *Page, and the ends of the recency list. */
static mr_map *page_cache;
MR_GLOBAL(page_cache)
static Page *newest;
MR_GLOBAL(newest)
static Page *oldest;
MR_GLOBAL(oldest)

static void unlink_page(Page *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        newest = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        oldest = p->prev;
    p->prev = p->next = NULL;
}

static void push_front(Page *p)
{
    p->next = newest;
    if (newest) newest->prev = p;
    newest = p;
    if (!oldest) oldest = p;
}

/* Renders a user's page: the allocation site of the cache's contents. */
__attribute__((noinline)) static Page *render_page(mr_str user, uint64_t seed)
{
    Page *p = mr_new(&page_type);
    p->user = user;
    p->len = 512 + (size_t)(seed % 1024);
    p->html = mr_alloc_blob(p->len);
    for (size_t i = 0; i < p->len; i += 64) p->html[i] = (uint8_t)(seed + i);
    return p;
}

/* Serves one request: the cached page, or a new one that evicts the
 * least recently used when the cache is full. */
static Page *serve(int64_t user_id, uint64_t seed)
{
    mr_str user = mr_str_printf("user-%" PRId64, user_id);
    Page *p = NULL;
    if (mr_map_get(page_cache, &user, &p)) {
        unlink_page(p);
        push_front(p);
        return p;
    }
    if (mr_map_len(page_cache) >= CAPACITY) {
        Page *victim = oldest;
        unlink_page(victim);
        mr_map_delete(page_cache, &victim->user);
    }
    p = render_page(user, seed);
    mr_map_set(page_cache, &p->user, &p);
    push_front(p);
    return p;
}

int main(void)
{
    page_cache = mr_map_new(&page_map_type, 0);
    uint64_t x = 88172645463325252ull, listed = 0, bytes = 0;
    size_t most = 0;
    for (int64_t n = 0; n < REQUESTS; n++) {
        x ^= x << 13; /* xorshift: the users who come */
        x ^= x >> 7;
        x ^= x << 17;
        /* a few users come back often: a small hot set, and everyone else */
        int64_t user = (int64_t)(x % 4 == 0 ? x % 2000 : x % USERS);
        Page *p = serve(user, x);
        bytes += p->len;
        if (mr_map_len(page_cache) > most) most = mr_map_len(page_cache);
    }
    for (Page *p = newest; p; p = p->next) listed++;

    printf("lru_cache: served %d requests for up to %d users (%" PRIu64 " bytes of pages)\n",
           REQUESTS, USERS, bytes);
    printf("lru_cache: page_cache holds %zu pages (at most %zu, capacity %d; %" PRIu64
           " on the recency list)\n\n",
           mr_map_len(page_cache), most, CAPACITY, listed);
    if (most > CAPACITY || mr_map_len(page_cache) != CAPACITY || listed != CAPACITY) return 1;

    example_report_as(
        "lru_cache", "why this is not a leak",
        "page_cache is a global map[string]*Page like sessiond's session_cache, but bounded: once "
        "it holds 10,000 pages, every new page evicts the least recently used one. Its entries "
        "and retained bytes grow while it warms up and then stay level while the pages in it "
        "keep changing, so the heap stays level too. maproot gate passes it: the growth rule "
        "asks for growth in most of the last intervals of the run, not during the warm-up.");
    return 0;
}
