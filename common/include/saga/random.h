/* random.h - bytes from the kernel's random source (getrandom). */
#ifndef SAGA_RANDOM_H
#define SAGA_RANDOM_H

#include <stddef.h>

/* Fills all len bytes of buf (owned by the caller) from getrandom, calling it again
 * after a short read or EINTR. Returns SAGA_OK, or SAGA_ERR_INTERNAL when getrandom
 * fails otherwise (ENOSYS, EFAULT, ...; errno says which): buf's contents are then
 * unspecified and must not be used. Never blocks once the kernel's pool is ready. */
int saga_random_fill(void *buf, size_t len);

#endif
