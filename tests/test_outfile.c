/*
 * tests/test_outfile.c -- the one rule every output follows (outfile.h):
 * regular files replaced whole, symlinks written through, devices and FIFOs
 * written into, the rest refused; errors name the file and the reason;
 * nothing but complete files under final names, no temporary files left.
 * Device nodes and FIFOs are made in a temporary directory, never /dev's.
 */
#include "check.h"
#include "format/infile.h"
#include "format/outfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/maproot-outfile-XXXXXX";

static char *at(const char *name)
{
    static char buf[4][512];
    static int k;
    char *b = buf[k++ % 4];
    snprintf(b, sizeof buf[0], "%s/%s", dir, name);
    return b;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[1 << 16];
    *n = fread(buf, 1, sizeof buf - 1, f);
    buf[*n] = 0;
    fclose(f);
    return buf;
}

/* Names in dir containing ".tmp": none may stay. */
static int temp_files(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp")) n++;
    if (d) closedir(d);
    return n;
}

static void new_file_is_written_whole_with_the_umask_mode(void)
{
    mf_error e;
    CHECK(mf_write_file(at("a.out"), "hello", 5, &e) == 0);
    size_t n;
    CHECK_STR_EQ(slurp(at("a.out"), &n), "hello");
    struct stat st;
    CHECK(stat(at("a.out"), &st) == 0);
    mode_t mask = umask(0);
    umask(mask);
    CHECK_EQ_U64(st.st_mode & 0777, 0666 & ~mask);
    CHECK_EQ_U64(temp_files(), 0);
}

static void replaced_file_keeps_its_mode(void)
{
    mf_error e;
    CHECK(mf_write_file(at("m.out"), "old", 3, &e) == 0);
    CHECK(chmod(at("m.out"), 0640) == 0);
    CHECK(mf_write_file(at("m.out"), "new!", 4, &e) == 0);
    struct stat st;
    CHECK(stat(at("m.out"), &st) == 0);
    CHECK_EQ_U64(st.st_mode & 0777, 0640);
    size_t n;
    CHECK_STR_EQ(slurp(at("m.out"), &n), "new!");
}

static void symlink_is_written_through_and_stays(void)
{
    mf_error e;
    CHECK(mf_write_file(at("target"), "t0", 2, &e) == 0);
    CHECK(chmod(at("target"), 0600) == 0);
    CHECK(symlink("target", at("link")) == 0);
    CHECK(symlink("link", at("link2")) == 0); /* a chain */
    CHECK(mf_write_file(at("link2"), "through", 7, &e) == 0);
    struct stat st;
    CHECK(lstat(at("link2"), &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(lstat(at("link"), &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(stat(at("target"), &st) == 0 && (st.st_mode & 0777) == 0600);
    size_t n;
    CHECK_STR_EQ(slurp(at("target"), &n), "through");
    /* a dangling link creates its target */
    CHECK(symlink("made-by-link", at("dangling")) == 0);
    CHECK(mf_write_file(at("dangling"), "x", 1, &e) == 0);
    CHECK(lstat(at("dangling"), &st) == 0 && S_ISLNK(st.st_mode));
    CHECK_STR_EQ(slurp(at("made-by-link"), &n), "x");
    /* a loop is an error that names the file */
    CHECK(symlink("loop-b", at("loop-a")) == 0);
    CHECK(symlink("loop-a", at("loop-b")) == 0);
    CHECK(mf_write_file(at("loop-a"), "x", 1, &e) == -1);
    CHECK(strstr(e.msg, "loop-a") && strstr(e.msg, strerror(ELOOP)));
    CHECK_EQ_U64(temp_files(), 0);
}

static void *read_fifo(void *arg)
{
    static char buf[64];
    int fd = open(arg, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    buf[n > 0 ? n : 0] = 0;
    if (fd >= 0) close(fd);
    return buf;
}

static void fifo_is_written_into_and_opening_does_not_block(void)
{
    CHECK(mkfifo(at("fifo"), 0600) == 0);
    mf_error e;
    /* no reader yet: the open must return at once */
    mf_out *o = mf_out_open(at("fifo"), &e);
    CHECK(o != NULL);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, read_fifo, at("fifo")) == 0);
    mf_out_write(o, "via fifo", 8);
    CHECK(mf_out_commit(o, &e) == 0);
    void *got;
    pthread_join(t, &got);
    CHECK_STR_EQ(got, "via fifo");
    struct stat st;
    CHECK(lstat(at("fifo"), &st) == 0 && S_ISFIFO(st.st_mode));
}

static void character_device_is_written_into_not_replaced(void)
{
    /* our own null and full devices (1,3 and 1,7), if we may make nodes */
    if (mknod(at("null"), S_IFCHR | 0666, makedev(1, 3)) != 0) {
        fprintf(stderr, "  (no mknod here: %s; device case skipped)\n", strerror(errno));
        return;
    }
    mf_error e;
    CHECK(mf_write_file(at("null"), "gone", 4, &e) == 0);
    struct stat st;
    CHECK(lstat(at("null"), &st) == 0 && S_ISCHR(st.st_mode));
    CHECK(mknod(at("full"), S_IFCHR | 0666, makedev(1, 7)) == 0);
    CHECK(mf_write_file(at("full"), "x", 1, &e) == -1);
    char want[256];
    snprintf(want, sizeof want, "cannot write %s: %s", at("full"), strerror(ENOSPC));
    CHECK_STR_EQ(e.msg, want);
    CHECK(lstat(at("full"), &st) == 0 && S_ISCHR(st.st_mode));
}

static void directory_and_socket_are_refused(void)
{
    mf_error e;
    CHECK(mkdir(at("d"), 0700) == 0);
    CHECK(mf_out_open(at("d"), &e) == NULL);
    CHECK(strstr(e.msg, at("d")) && strstr(e.msg, "a directory"));
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", at("sock"));
    CHECK(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(mf_out_open(at("sock"), &e) == NULL);
    CHECK(strstr(e.msg, "a socket"));
    close(s);
    struct stat st;
    CHECK(lstat(at("sock"), &st) == 0 && S_ISSOCK(st.st_mode));
}

static void abort_and_failure_leave_the_old_file(void)
{
    mf_error e;
    CHECK(mf_write_file(at("keep"), "old", 3, &e) == 0);
    mf_out *o = mf_out_open(at("keep"), &e);
    CHECK(o != NULL);
    fputs("half", mf_out_stream(o));
    mf_out_abort(o);
    size_t n;
    CHECK_STR_EQ(slurp(at("keep"), &n), "old");
    CHECK_EQ_U64(temp_files(), 0);
    /* a missing directory: the error says which file and why */
    CHECK(mf_out_open(at("no/such/dir/f"), &e) == NULL);
    CHECK(strstr(e.msg, "cannot create") && strstr(e.msg, strerror(ENOENT)));
}

static void killed_child_writer_leaves_no_temp(void)
{
    mf_error e;
    mf_out *o = mf_out_open(at("child.out"), &e);
    CHECK(o != NULL);
    int wrote[2]; /* the child says it has written */
    CHECK(pipe(wrote) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        mf_out_write(o, "partial", 7);
        (void)!write(wrote[1], "w", 1);
        pause(); /* killed here, mid-write */
        _exit(0);
    }
    close(wrote[1]);
    char *temp = mf_out_detach(o);
    char c;
    CHECK(read(wrote[0], &c, 1) == 1);
    close(wrote[0]);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    mf_out_remove_temp(temp);
    free(temp);
    CHECK(access(at("child.out"), F_OK) != 0);
    CHECK_EQ_U64(temp_files(), 0);
}

static void stream_errors_keep_the_reason(void)
{
    if (access(at("full"), F_OK) != 0) return; /* no devices here */
    mf_error e;
    mf_out *o = mf_out_open(at("full"), &e);
    CHECK(o != NULL);
    FILE *f = mf_out_stream(o);
    for (int i = 0; i < 10000; i++) fputs("a line of report text\n", f);
    CHECK(mf_out_commit(o, &e) == -1);
    CHECK(strstr(e.msg, strerror(ENOSPC)) != NULL);
}

static void input_reads_once_from_a_fifo(void)
{
    /* the kind is told from the bytes read, and the reader gets them again */
    CHECK(mkfifo(at("in.fifo"), 0600) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(at("in.fifo"), O_WRONLY);
        ssize_t w = write(fd, "abcdefgh", 8);
        _exit(w == 8 ? 0 : 1);
    }
    mf_error e;
    mf_in *in = mf_in_open(at("in.fifo"), &e);
    CHECK(in != NULL);
    const uint8_t *p;
    size_t n;
    CHECK(mf_in_peek(in, 3, &p, &n, &e) == 0 && n == 3 && memcmp(p, "abc", 3) == 0);
    char buf[16];
    ssize_t k, got = 0;
    while ((k = mf_in_read(in, buf + got, sizeof buf - 1 - (size_t)got, &e)) > 0) got += k;
    buf[got] = 0;
    CHECK_STR_EQ(buf, "abcdefgh");
    mf_in_close(in);
    waitpid(pid, NULL, 0);
    CHECK(mf_in_open(at("missing"), &e) == NULL);
    char want[256];
    snprintf(want, sizeof want, "cannot open %s: %s", at("missing"), strerror(ENOENT));
    CHECK_STR_EQ(e.msg, want);
}

/* A descriptor handed over (as the attach agent gets one): written from
 * its offset, never renamed, closed by commit and by abort. */
static void handed_over_descriptor_is_written_from_its_offset_and_closed(void)
{
    int fd = open(at("given"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    CHECK(write(fd, "head:", 5) == 5);
    mf_error e;
    mf_out *o = mf_out_fdopen(fd, "the client's file", &e);
    CHECK(o != NULL);
    CHECK(mf_out_write(o, "body", 4) == 0);
    CHECK(mf_out_commit(o, &e) == 0);
    CHECK(fcntl(fd, F_GETFD) == -1 && errno == EBADF);
    size_t n;
    CHECK_STR_EQ(slurp(at("given"), &n), "head:body");
    CHECK_EQ_U64(temp_files(), 0);
    fd = open(at("given"), O_RDONLY); /* not writable: the error names it */
    o = mf_out_fdopen(fd, "the client's file", &e);
    CHECK(o != NULL);
    CHECK(mf_out_write(o, "x", 1) == -1);
    CHECK(mf_out_commit(o, &e) == -1);
    CHECK(strstr(e.msg, "cannot write the client's file") != NULL);
    CHECK(fcntl(fd, F_GETFD) == -1 && errno == EBADF);
}

/* Standard output pointed at file name (opened with extra flags) while
 * a held output of in_memory bytes is written n bytes (in pieces of 7)
 * and committed or aborted; *rc: commit's result (0 for an abort).
 * TMPDIR is dir: a spill must leave nothing there. */
static void held_run(const char *name, int flags, size_t in_memory, size_t n, bool commit, int *rc)
{
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    int fd = open(at(name), O_WRONLY | O_CREAT | flags, 0644);
    CHECK(saved >= 0 && fd >= 0 && dup2(fd, STDOUT_FILENO) == STDOUT_FILENO);
    close(fd);
    setenv("TMPDIR", dir, 1);
    mf_error e;
    mf_out *o = mf_out_open("-", &e);
    CHECK(o != NULL);
    mf_out_hold(o, in_memory);
    FILE *f = mf_out_stream(o);
    CHECK(f != NULL);
    for (size_t i = 0; i < n; i += 7) fwrite("abcdefg", 1, n - i < 7 ? n - i : 7, f);
    *rc = 0;
    if (commit)
        *rc = mf_out_commit(o, &e);
    else
        mf_out_abort(o);
    unsetenv("TMPDIR");
    dup2(saved, STDOUT_FILENO);
    close(saved);
}

/* Held standard output is all or nothing: an abort writes nothing (in
 * memory or spilled to a temporary file), a commit everything in order,
 * after what the file had (`>>`); no temporary file stays. */
static void held_stdout_is_whole_or_nothing(void)
{
    size_t n;
    int rc;
    for (size_t cap = 10; cap <= 1 << 20; cap <<= 10) { /* spilled, in memory */
        held_run("held", O_TRUNC, cap, 50000, false, &rc);
        slurp(at("held"), &n);
        CHECK(rc == 0 && n == 0);
        held_run("held", O_APPEND, cap, 50000, true, &rc);
        CHECK(rc == 0);
        const char *s = slurp(at("held"), &n);
        CHECK(n == 50000 && memcmp(s, "abcdefgabc", 10) == 0 && s[49999] == "abcdefg"[49999 % 7]);
        held_run("held", O_APPEND, cap, 3, true, &rc);
        CHECK(rc == 0);
        s = slurp(at("held"), &n);
        CHECK(n == 50003 && memcmp(s + 50000, "abc", 3) == 0);
    }
    DIR *d = opendir(dir);
    struct dirent *ent;
    int others = 0;
    while (d && (ent = readdir(d)))
        others += strcmp(ent->d_name, ".") && strcmp(ent->d_name, "..") &&
                  strcmp(ent->d_name, "held");
    if (d) closedir(d);
    CHECK(others == 0);
}

int main(void)
{
    if (!mkdtemp(dir)) return 1;
    TEST(held_stdout_is_whole_or_nothing);
    TEST(new_file_is_written_whole_with_the_umask_mode);
    TEST(replaced_file_keeps_its_mode);
    TEST(symlink_is_written_through_and_stays);
    TEST(fifo_is_written_into_and_opening_does_not_block);
    TEST(character_device_is_written_into_not_replaced);
    TEST(directory_and_socket_are_refused);
    TEST(abort_and_failure_leave_the_old_file);
    TEST(killed_child_writer_leaves_no_temp);
    TEST(stream_errors_keep_the_reason);
    TEST(input_reads_once_from_a_fifo);
    TEST(handed_over_descriptor_is_written_from_its_offset_and_closed);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 1;
    TEST_EXIT();
}
