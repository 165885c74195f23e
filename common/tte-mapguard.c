/* tte-mapguard.c — see tte-mapguard.h. */
#include "tte-mapguard.h"

#include "tte-error.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct {
  atomic_uintptr_t base; /* 0: free; 1: being filled in; else the start of the range */
  atomic_size_t len;
  atomic_int hit;
} GuardSlot;

static GuardSlot slots[TTE_MAP_GUARD_SLOTS];
static struct sigaction previous;
static uintptr_t page_mask;

/* Async-signal-safe: atomics, mmap, sigaction and nothing else. */
static void
on_sigbus(int sig, siginfo_t *si, void *uc)
{
  uintptr_t a = (uintptr_t)si->si_addr;
  int saved_errno = errno;

  for (guint i = 0; i < TTE_MAP_GUARD_SLOTS; i++) {
    uintptr_t base = atomic_load(&slots[i].base);
    size_t len = atomic_load(&slots[i].len);
    uintptr_t from, end;

    if (base <= 1 || a < base || a - base >= len)
      continue;
    /* The file ends before this page: put zeros over the rest of the range, so the read
     * that faulted (and any later one) completes. */
    from = a & ~page_mask;
    end = (base + len + page_mask) & ~page_mask;
    if (mmap((void *)from, end - from, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
        MAP_FAILED)
      break;
    atomic_store(&slots[i].hit, 1);
    errno = saved_errno;
    return;
  }
  errno = saved_errno;
  /* Not ours (or the zero pages could not be mapped): the previous disposition decides. */
  if (previous.sa_flags & SA_SIGINFO) {
    if (previous.sa_sigaction != NULL) {
      previous.sa_sigaction(sig, si, uc);
      return;
    }
  } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN &&
             previous.sa_handler != NULL) {
    previous.sa_handler(sig);
    return;
  }
  /* Default action: restore it; returning re-runs the faulting access, which then ends the
   * process as a SIGBUS would have without us. */
  signal(SIGBUS, SIG_DFL);
}

static gsize installed; /* 1 + whether sigaction succeeded */

static gboolean
install(void)
{
  if (g_once_init_enter(&installed)) {
    struct sigaction sa;
    long page = sysconf(_SC_PAGESIZE);
    gsize ok;

    page_mask = (uintptr_t)(page > 0 ? page : 4096) - 1;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    ok = sigaction(SIGBUS, &sa, &previous) == 0 ? 2 : 1;
    g_once_init_leave(&installed, ok);
  }
  return installed == 2;
}

int
tte_map_guard_add(const void *base, gsize len)
{
  if (base == NULL || len == 0 || !install())
    return -1;
  for (guint i = 0; i < TTE_MAP_GUARD_SLOTS; i++) {
    uintptr_t expected = 0;
    /* Claim the slot with the placeholder 1, fill it, then publish the real base. */
    if (atomic_compare_exchange_strong(&slots[i].base, &expected, 1)) {
      atomic_store(&slots[i].len, len);
      atomic_store(&slots[i].hit, 0);
      atomic_store(&slots[i].base, (uintptr_t)base);
      return (int)i;
    }
  }
  return -1;
}

gboolean
tte_map_guard_hit(int slot)
{
  return slot >= 0 && slot < TTE_MAP_GUARD_SLOTS && atomic_load(&slots[slot].hit) != 0;
}

gboolean
tte_map_guard_remove(int slot)
{
  int hit;

  if (slot < 0 || slot >= TTE_MAP_GUARD_SLOTS)
    return FALSE;
  hit = atomic_load(&slots[slot].hit);
  atomic_store(&slots[slot].base, 1);
  atomic_store(&slots[slot].len, 0);
  atomic_store(&slots[slot].hit, 0);
  atomic_store(&slots[slot].base, 0);
  return hit != 0;
}

typedef struct {
  GMappedFile *mf;
  int slot;
} GuardedFile;

static void
guarded_file_free(gpointer p)
{
  GuardedFile *g = p;
  tte_map_guard_remove(g->slot);
  g_mapped_file_unref(g->mf);
  g_free(g);
}

GBytes *
tte_map_guard_file(const char *path, int *slot_out, GError **error)
{
  g_autoptr(GError) local = NULL;
  GMappedFile *mf;
  GuardedFile *g;
  gsize len;

  if (slot_out != NULL)
    *slot_out = -1;
  mf = g_mapped_file_new(path, FALSE, &local);
  if (mf == NULL) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "cannot read %s: %s", path, local->message);
    return NULL;
  }
  len = g_mapped_file_get_length(mf);
  if (len == 0) {
    g_mapped_file_unref(mf);
    return g_bytes_new(NULL, 0);
  }
  g = g_new0(GuardedFile, 1);
  g->mf = mf;
  g->slot = tte_map_guard_add(g_mapped_file_get_contents(mf), len);
  if (slot_out != NULL)
    *slot_out = g->slot;
  return g_bytes_new_with_free_func(g_mapped_file_get_contents(mf), len, guarded_file_free, g);
}
