/* fault-module.c — a PKCS#11 module for tests that forwards to a real one (SoftHSM2) and
 * injects faults on demand, so the token-loss and locked-PIN paths of pkcs11/ run for
 * real.
 *
 *   TTE_FAULT_REAL_MODULE  path of the module to forward to (required)
 *   TTE_FAULT_CTL          path of a control file read on every call:
 *                            absent/empty   pass everything through
 *                            "removed"      the token is out: sessions are closed in the
 *                                           real module (which logs the token out), slot
 *                                           lists skip it, session calls fail with
 *                                           CKR_DEVICE_REMOVED, new sessions with
 *                                           CKR_TOKEN_NOT_PRESENT
 *                            "pin-locked"   C_Login fails with CKR_PIN_LOCKED
 *
 * Putting the file back to empty is "the token was plugged in again": the old session
 * handles stay invalid, exactly as with a real reader.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <p11-kit/pkcs11.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list);

static CK_FUNCTION_LIST *real;
static CK_FUNCTION_LIST wrapped;
static void *real_dl;
static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
/* SoftHSM2 2.6 crashes when one thread closes a session that another is signing with
 * (C_CloseAllSessions during C_Sign), so calls into the real module hold this for
 * reading and the simulated removal closes the sessions holding it for writing. */
static pthread_rwlock_t use_lock = PTHREAD_RWLOCK_INITIALIZER;
static int was_removed;

enum { MODE_NORMAL, MODE_REMOVED, MODE_PIN_LOCKED };

static int
read_mode(void)
{
  const char *ctl = getenv("TTE_FAULT_CTL");
  char buf[32] = { 0 };
  ssize_t n;
  int fd;

  if (ctl == NULL || (fd = open(ctl, O_RDONLY | O_CLOEXEC)) < 0)
    return MODE_NORMAL;
  n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return MODE_NORMAL;
  if (strncmp(buf, "removed", 7) == 0)
    return MODE_REMOVED;
  if (strncmp(buf, "pin-locked", 10) == 0)
    return MODE_PIN_LOCKED;
  return MODE_NORMAL;
}

/* The current mode; on the transition to "removed" close every real session, which is
 * what a module does when the device goes away. */
static int
mode(void)
{
  int m = read_mode();

  pthread_mutex_lock(&state_lock);
  if (m == MODE_REMOVED && !was_removed && real != NULL) {
    CK_SLOT_ID slots[64];
    CK_ULONG n = 64;
    pthread_rwlock_wrlock(&use_lock);
    if (real->C_GetSlotList(CK_FALSE, slots, &n) == CKR_OK)
      for (CK_ULONG i = 0; i < n; i++)
        real->C_CloseAllSessions(slots[i]);
    pthread_rwlock_unlock(&use_lock);
  }
  was_removed = m == MODE_REMOVED;
  pthread_mutex_unlock(&state_lock);
  return m;
}

/* The real module may already be initialised by another user in the same test process
 * (and must stay so): share it, and never finalise it from here. */
static CK_RV
w_Initialize(CK_VOID_PTR args)
{
  CK_RV rv = real->C_Initialize(args);
  return rv == CKR_CRYPTOKI_ALREADY_INITIALIZED ? CKR_OK : rv;
}

static CK_RV
w_Finalize(CK_VOID_PTR reserved)
{
  (void)reserved;
  return CKR_OK;
}

static CK_RV
w_GetSlotList(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count)
{
  if (present && mode() == MODE_REMOVED) {
    *count = 0;
    return CKR_OK;
  }
  return real->C_GetSlotList(present, list, count);
}

static CK_RV
w_GetSlotInfo(CK_SLOT_ID slot, CK_SLOT_INFO_PTR info)
{
  CK_RV rv = real->C_GetSlotInfo(slot, info);
  if (rv == CKR_OK && mode() == MODE_REMOVED)
    info->flags &= ~(CK_FLAGS)CKF_TOKEN_PRESENT;
  return rv;
}

static CK_RV
w_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info)
{
  if (mode() == MODE_REMOVED)
    return CKR_TOKEN_NOT_PRESENT;
  return real->C_GetTokenInfo(slot, info);
}

static CK_RV
w_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,
              CK_SESSION_HANDLE_PTR session)
{
  if (mode() == MODE_REMOVED)
    return CKR_TOKEN_NOT_PRESENT;
  {
    CK_RV rv_;
    pthread_rwlock_rdlock(&use_lock);
    rv_ = real->C_OpenSession(slot, flags, app, notify, session);
    pthread_rwlock_unlock(&use_lock);
    return rv_;
  }
}

static CK_RV
w_GetSessionInfo(CK_SESSION_HANDLE s, CK_SESSION_INFO_PTR info)
{
  if (mode() == MODE_REMOVED)
    return CKR_DEVICE_REMOVED;
  {
    CK_RV rv_;
    pthread_rwlock_rdlock(&use_lock);
    rv_ = real->C_GetSessionInfo(s, info);
    pthread_rwlock_unlock(&use_lock);
    return rv_;
  }
}

static CK_RV
w_Login(CK_SESSION_HANDLE s, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
  int m = mode();
  if (m == MODE_REMOVED)
    return CKR_DEVICE_REMOVED;
  if (m == MODE_PIN_LOCKED)
    return CKR_PIN_LOCKED;
  {
    CK_RV rv_;
    pthread_rwlock_rdlock(&use_lock);
    rv_ = real->C_Login(s, user, pin, len);
    pthread_rwlock_unlock(&use_lock);
    return rv_;
  }
}

static CK_RV
w_FindObjectsInit(CK_SESSION_HANDLE s, CK_ATTRIBUTE_PTR t, CK_ULONG n)
{
  if (mode() == MODE_REMOVED)
    return CKR_DEVICE_REMOVED;
  {
    CK_RV rv_;
    pthread_rwlock_rdlock(&use_lock);
    rv_ = real->C_FindObjectsInit(s, t, n);
    pthread_rwlock_unlock(&use_lock);
    return rv_;
  }
}

static CK_RV
w_SignInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key)
{
  if (mode() == MODE_REMOVED)
    return CKR_DEVICE_REMOVED;
  {
    CK_RV rv_;
    pthread_rwlock_rdlock(&use_lock);
    rv_ = real->C_SignInit(s, mech, key);
    pthread_rwlock_unlock(&use_lock);
    return rv_;
  }
}

static CK_RV
w_Sign(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
  if (mode() == MODE_REMOVED)
    return CKR_DEVICE_REMOVED;
  {
    CK_RV rv_;
    pthread_rwlock_rdlock(&use_lock);
    rv_ = real->C_Sign(s, data, len, sig, sig_len);
    pthread_rwlock_unlock(&use_lock);
    return rv_;
  }
}

static CK_RV
w_FindObjects(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE_PTR h, CK_ULONG max, CK_ULONG_PTR n)
{
  CK_RV rv;
  pthread_rwlock_rdlock(&use_lock);
  rv = real->C_FindObjects(s, h, max, n);
  pthread_rwlock_unlock(&use_lock);
  return rv;
}

static CK_RV
w_FindObjectsFinal(CK_SESSION_HANDLE s)
{
  CK_RV rv;
  pthread_rwlock_rdlock(&use_lock);
  rv = real->C_FindObjectsFinal(s);
  pthread_rwlock_unlock(&use_lock);
  return rv;
}

static CK_RV
w_CloseSession(CK_SESSION_HANDLE s)
{
  CK_RV rv;
  pthread_rwlock_rdlock(&use_lock);
  rv = real->C_CloseSession(s);
  pthread_rwlock_unlock(&use_lock);
  return rv;
}

static CK_RV
w_GetAttributeValue(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n)
{
  CK_RV rv;
  pthread_rwlock_rdlock(&use_lock);
  rv = real->C_GetAttributeValue(s, o, t, n);
  pthread_rwlock_unlock(&use_lock);
  return rv;
}

CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
  if (real == NULL) {
    const char *path = getenv("TTE_FAULT_REAL_MODULE");
    CK_C_GetFunctionList get;

    if (path == NULL || (real_dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL)
      return CKR_GENERAL_ERROR;
    get = (CK_C_GetFunctionList)dlsym(real_dl, "C_GetFunctionList");
    if (get == NULL || get(&real) != CKR_OK)
      return CKR_GENERAL_ERROR;
    wrapped = *real;
    wrapped.C_Initialize = w_Initialize;
    wrapped.C_Finalize = w_Finalize;
    wrapped.C_GetSlotList = w_GetSlotList;
    wrapped.C_GetSlotInfo = w_GetSlotInfo;
    wrapped.C_GetTokenInfo = w_GetTokenInfo;
    wrapped.C_OpenSession = w_OpenSession;
    wrapped.C_GetSessionInfo = w_GetSessionInfo;
    wrapped.C_Login = w_Login;
    wrapped.C_FindObjectsInit = w_FindObjectsInit;
    wrapped.C_SignInit = w_SignInit;
    wrapped.C_Sign = w_Sign;
    wrapped.C_FindObjects = w_FindObjects;
    wrapped.C_FindObjectsFinal = w_FindObjectsFinal;
    wrapped.C_CloseSession = w_CloseSession;
    wrapped.C_GetAttributeValue = w_GetAttributeValue;
  }
  *list = &wrapped;
  return CKR_OK;
}
