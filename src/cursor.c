/* cursor.c - the external definitions of cursor.h's inline functions (C11 6.7.4). */
#include "cursor.h"

extern inline void cur_init(struct cursor *c, const uint8_t *buf, size_t len);
extern inline size_t cur_left(const struct cursor *c);
extern inline int cur_have(struct cursor *c, size_t n);
extern inline uint8_t cur_u8(struct cursor *c);
extern inline uint16_t cur_be16(struct cursor *c);
extern inline uint32_t cur_be32(struct cursor *c);
extern inline uint32_t cur_le32(struct cursor *c);
extern inline void cur_bytes(struct cursor *c, uint8_t *out, size_t n);
extern inline void cur_skip(struct cursor *c, size_t n);
extern inline const uint8_t *cur_take(struct cursor *c, size_t n);
extern inline uint16_t cur_at_be16(const uint8_t *p);
extern inline uint32_t cur_at_be32(const uint8_t *p);
extern inline const uint8_t *cur_ptr(const struct cursor *c);
extern inline void cur_limit(struct cursor *c, size_t n);
