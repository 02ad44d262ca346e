/*
 * fswalk: the one hot loop of `mlo status`, `add` and `run` written in C: walk a directory tree and
 * lstat every regular file, on several threads. From JavaScript each lstat costs ~2.7 us (the syscall
 * plus building a Stats object); here it is the bare syscall, and two threads share the work, as
 * git's preloaded index does. Optional: mlo falls back to its JavaScript walk when this is not built.
 *
 * walk(root: string, threads: number) -> { names: Buffer, types: Uint8Array, stats: Float64Array } | null
 *   names  every entry below root, relative to it with '/' separators, in depth-first readdir order
 *          (a directory's entries follow it), separated by '\0';
 *   types  per entry: 1 file, 2 directory, 3 symlink, 4 other, 0 vanished between readdir and lstat;
 *   stats  per entry four numbers: inode, mtime in ms, size, mode (zero except for files). They are
 *          computed exactly as Node computes Stats.ino/mtimeMs/size/mode, so both walks compare equal.
 * null means "could not walk" (unreadable folder, not a folder): the JavaScript walk then runs and
 * reports the error in its own words.
 *
 * walk(root, threads, snapNames: Buffer, snapStats: Float64Array) compares against a directory
 * snapshot (see src/core/workspace/snapshot.ts) in the same pass: a file whose path is the snapshot's
 * next path and whose inode, mtime and size are the recorded ones is counted in `matched` and left out
 * of the result, so JavaScript only sees what differs (nothing, when the folder is unchanged).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <node_api.h>

enum { T_VANISHED = 0, T_FILE = 1, T_DIR = 2, T_SYMLINK = 3, T_OTHER = 4 };

typedef struct {
  char *names;      /* rel paths, each terminated by '\0' */
  size_t names_len, names_cap;
  size_t *offsets;  /* start of each entry's name in `names` */
  uint8_t *types;
  size_t count, offsets_cap, types_cap;
  double *stats;    /* four per entry, filled in phase 2 */
  const char *root;
  size_t root_len;
  size_t next;      /* phase 2: next chunk to stat, shared by the threads */
  pthread_mutex_t lock;
  int failed;
} walk_t;

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t n = *cap ? *cap : 1024;
  while (n < need) n *= 2;
  void *q = realloc(*p, n * elem);
  if (!q) return -1;
  *p = q;
  *cap = n;
  return 0;
}

static int push_entry(walk_t *w, const char *prefix, size_t prefix_len, const char *name, uint8_t type) {
  size_t name_len = strlen(name);
  size_t need = w->names_len + prefix_len + name_len + 2;
  if (grow((void **)&w->names, &w->names_cap, need, 1)) return -1;
  if (grow((void **)&w->offsets, &w->offsets_cap, w->count + 1, sizeof(size_t))) return -1;
  if (grow((void **)&w->types, &w->types_cap, w->count + 1, 1)) return -1;
  w->offsets[w->count] = w->names_len;
  w->types[w->count] = type;
  w->count++;
  char *dst = w->names + w->names_len;
  if (prefix_len) {
    memcpy(dst, prefix, prefix_len);
    dst[prefix_len] = '/';
    dst += prefix_len + 1;
  }
  memcpy(dst, name, name_len + 1);
  w->names_len += (prefix_len ? prefix_len + 1 : 0) + name_len + 1;
  return 0;
}

/* Phase 1: readdir only (d_type names the kind of entry without a stat on ext4, xfs, btrfs, tmpfs). */
static int visit(walk_t *w, int dirfd, size_t rel_off, size_t rel_len) {
  DIR *d = fdopendir(dirfd);
  if (!d) {
    close(dirfd);
    return -1;
  }
  struct dirent *e;
  int rc = 0;
  while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
    const char *n = e->d_name;
    if (n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0))) continue;
    uint8_t type;
    switch (e->d_type) {
      case DT_REG: type = T_FILE; break;
      case DT_DIR: type = T_DIR; break;
      case DT_LNK: type = T_SYMLINK; break;
      case DT_UNKNOWN: {
        struct stat st;
        if (fstatat(dirfd, n, &st, AT_SYMLINK_NOFOLLOW) != 0) { type = T_VANISHED; break; }
        type = S_ISREG(st.st_mode) ? T_FILE : S_ISDIR(st.st_mode) ? T_DIR : S_ISLNK(st.st_mode) ? T_SYMLINK : T_OTHER;
        break;
      }
      default: type = T_OTHER;
    }
    /* The prefix lives in w->names, which push_entry may move: copy it out first. */
    char prefix[PATH_MAX];
    if (rel_len >= sizeof prefix) { rc = -1; break; }
    memcpy(prefix, w->names + rel_off, rel_len);
    size_t child_off = w->names_len;
    if (push_entry(w, prefix, rel_len, n, type)) { rc = -1; break; }
    if (type == T_DIR) {
      int child = openat(dirfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child < 0) { rc = -1; break; }
      rc = visit(w, child, child_off, strlen(w->names + child_off));
    }
  }
  if (rc == 0 && errno != 0) rc = -1;
  closedir(d);
  return rc;
}

#define CHUNK 256

/* Phase 2: lstat every file, a chunk at a time, on each thread. */
static void *stat_worker(void *arg) {
  walk_t *w = arg;
  char path[PATH_MAX];
  if (w->root_len + 2 >= sizeof path) return NULL;
  memcpy(path, w->root, w->root_len);
  path[w->root_len] = '/';
  char *tail = path + w->root_len + 1;
  size_t room = sizeof path - w->root_len - 1;
  for (;;) {
    pthread_mutex_lock(&w->lock);
    size_t start = w->next;
    w->next += CHUNK;
    pthread_mutex_unlock(&w->lock);
    if (start >= w->count) break;
    size_t end = start + CHUNK < w->count ? start + CHUNK : w->count;
    for (size_t i = start; i < end; i++) {
      double *s = w->stats + i * 4;
      s[0] = s[1] = s[2] = s[3] = 0;
      if (w->types[i] != T_FILE) continue;
      const char *rel = w->names + w->offsets[i];
      size_t len = strlen(rel);
      if (len >= room) { w->types[i] = T_VANISHED; continue; }
      memcpy(tail, rel, len + 1);
      struct stat st;
      if (lstat(path, &st) != 0) { w->types[i] = T_VANISHED; continue; }
      if (!S_ISREG(st.st_mode)) { w->types[i] = S_ISDIR(st.st_mode) ? T_DIR : S_ISLNK(st.st_mode) ? T_SYMLINK : T_OTHER; continue; }
      /* The same arithmetic as Node's Stats (lib/internal/fs/utils.js msFromTimeSpec). */
      s[0] = (double)st.st_ino;
      s[1] = (double)st.st_mtim.tv_sec * 1000 + (double)st.st_mtim.tv_nsec / 1000000;
      s[2] = (double)st.st_size;
      s[3] = (double)st.st_mode;
    }
  }
  return NULL;
}

/* Drops the entries that match the snapshot in order; returns how many matched. */
static size_t match_snapshot(walk_t *w, const char *snap, size_t snap_len, const double *snap_stats, size_t snap_files) {
  size_t n = 0, matched = 0, kept = 0, pos = 0;
  for (size_t i = 0; i < w->count; i++) {
    int drop = 0;
    if (w->types[i] == T_FILE && n < snap_files && pos < snap_len) {
      const char *want = snap + pos;
      size_t want_len = strnlen(want, snap_len - pos);
      const char *rel = w->names + w->offsets[i];
      if (strlen(rel) == want_len && memcmp(rel, want, want_len) == 0) {
        const double *s = w->stats + i * 4, *t = snap_stats + n * 3;
        drop = s[0] == t[0] && s[1] == t[1] && s[2] == t[2];
        n++;
        pos += want_len + 1;
      }
    }
    if (drop) {
      matched++;
      continue;
    }
    w->offsets[kept] = w->offsets[i];
    w->types[kept] = w->types[i];
    memmove(w->stats + kept * 4, w->stats + i * 4, 4 * sizeof(double));
    kept++;
  }
  w->count = kept;
  return matched;
}

static void free_walk(walk_t *w) {
  free(w->names);
  free(w->offsets);
  free(w->types);
  free(w->stats);
}

static napi_value walk(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], result, nul;
  napi_get_null(env, &nul);
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) return nul;
  /* The optional snapshot: its '\0'-separated paths and three numbers per file. */
  const char *snap = NULL;
  size_t snap_len = 0, snap_files = 0;
  double *snap_stats = NULL;
  if (argc >= 4) {
    bool is_buffer = false, is_typed = false;
    napi_is_buffer(env, argv[2], &is_buffer);
    napi_is_typedarray(env, argv[3], &is_typed);
    if (is_buffer && is_typed) {
      void *data;
      napi_typedarray_type kind;
      size_t length;
      napi_get_buffer_info(env, argv[2], &data, &snap_len);
      snap = data;
      napi_get_typedarray_info(env, argv[3], &kind, &length, &data, NULL, NULL);
      if (kind != napi_float64_array) return nul;
      snap_stats = data;
      snap_files = length / 3;
    }
  }
  char root[PATH_MAX];
  size_t root_len;
  if (napi_get_value_string_utf8(env, argv[0], root, sizeof root, &root_len) != napi_ok || root_len + 1 >= sizeof root) return nul;
  int32_t threads = 1;
  napi_get_value_int32(env, argv[1], &threads);
  if (threads < 1) threads = 1;
  if (threads > 16) threads = 16;

  walk_t w;
  memset(&w, 0, sizeof w);
  w.root = root;
  w.root_len = root_len;
  int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  /* The root's own rel path is empty: an empty string at offset 0 that is not an entry. */
  if (fd < 0 || grow((void **)&w.names, &w.names_cap, 1, 1)) {
    if (fd >= 0) close(fd);
    free_walk(&w);
    return nul;
  }
  w.names[0] = 0;
  w.names_len = 1;
  if (visit(&w, fd, 0, 0) != 0 || (w.count && !(w.stats = malloc(w.count * 4 * sizeof(double))))) {
    free_walk(&w);
    return nul;
  }

  if (w.count) {
    pthread_mutex_init(&w.lock, NULL);
    size_t wanted = (w.count + CHUNK - 1) / CHUNK;
    int n = threads < (int)wanted ? threads : (int)wanted;
    pthread_t tids[16];
    int started = 0;
    for (int i = 1; i < n; i++) {
      if (pthread_create(&tids[started], NULL, stat_worker, &w) == 0) started++;
    }
    stat_worker(&w);
    for (int i = 0; i < started; i++) pthread_join(tids[i], NULL);
    pthread_mutex_destroy(&w.lock);
  }

  double matched = snap ? (double)match_snapshot(&w, snap, snap_len, snap_stats, snap_files) : 0;

  /* The kept names, '\0'-separated. */
  napi_value names, types_ab, types, stats_ab, stats, matched_value;
  size_t names_bytes = 0;
  for (size_t i = 0; i < w.count; i++) names_bytes += strlen(w.names + w.offsets[i]) + 1;
  void *dst;
  napi_status ok = napi_create_buffer(env, names_bytes ? names_bytes - 1 : 0, &dst, &names);
  if (ok == napi_ok) {
    char *out = dst;
    for (size_t i = 0; i < w.count; i++) {
      const char *rel = w.names + w.offsets[i];
      size_t len = strlen(rel);
      memcpy(out, rel, len);
      out += len;
      if (i + 1 < w.count) *out++ = 0;
    }
  }
  if (ok == napi_ok) ok = napi_create_arraybuffer(env, w.count, &dst, &types_ab);
  if (ok == napi_ok) {
    if (w.count) memcpy(dst, w.types, w.count);
    ok = napi_create_typedarray(env, napi_uint8_array, w.count, types_ab, 0, &types);
  }
  if (ok == napi_ok) ok = napi_create_arraybuffer(env, w.count * 4 * sizeof(double), &dst, &stats_ab);
  if (ok == napi_ok) {
    if (w.count) memcpy(dst, w.stats, w.count * 4 * sizeof(double));
    ok = napi_create_typedarray(env, napi_float64_array, w.count * 4, stats_ab, 0, &stats);
  }
  if (ok == napi_ok) ok = napi_create_object(env, &result);
  if (ok == napi_ok) ok = napi_set_named_property(env, result, "names", names);
  if (ok == napi_ok) ok = napi_set_named_property(env, result, "types", types);
  if (ok == napi_ok) ok = napi_set_named_property(env, result, "stats", stats);
  if (ok == napi_ok) ok = napi_create_double(env, matched, &matched_value);
  if (ok == napi_ok) ok = napi_set_named_property(env, result, "matched", matched_value);
  free_walk(&w);
  return ok == napi_ok ? result : nul;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "walk", NAPI_AUTO_LENGTH, walk, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "walk", fn) != napi_ok) return NULL;
  return exports;
}
