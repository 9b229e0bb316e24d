/* hash.h - uthash, set up so that running out of memory in HASH_ADD leaves the item out of
 * the table instead of ending the process (uthash's default is exit(-1)): include this rather
 * than <uthash.h>, and after each add check MOL_HASH_ADDED, answering MOL_ENOMEM when it is
 * false (the item is in no table then, and the caller still owns it). */
#ifndef MOL_BASE_HASH_H
#define MOL_BASE_HASH_H

#define HASH_NONFATAL_OOM 1
#include <uthash.h>

/* Whether the last HASH_ADD of item (through its handle field hh) put it in its table. */
#define MOL_HASH_ADDED(item, hh) ((item)->hh.tbl != NULL)

#endif
