/* str.h - the whitespace stripper shared by the layers (tokens, cursors, config values, turn
 * text). Header-only: three small functions, called on short strings.
 *
 * "Blank" is what isspace() means in the C locale (space, \t, \n, \v, \f, \r), spelled out so
 * that no locale a host program sets can widen it; it is also what Python's str.strip()
 * removes from ASCII text, so files the Python SDK writes read back the same. */
#ifndef MOL_BASE_STR_H
#define MOL_BASE_STR_H

#include <stdlib.h>
#include <string.h>

static inline int mol_is_blank(char ch) {
  return ch == ' ' || (ch >= '\t' && ch <= '\r'); /* \t \n \v \f \r */
}

/* 1 when s is NULL, empty or only blanks. */
static inline int mol_str_is_blank(const char *s) {
  while (s && mol_is_blank(*s)) s++;
  return !s || !*s;
}

/* Removes leading and trailing blanks in place; returns s (NULL stays NULL). */
static inline char *mol_str_strip(char *s) {
  if (!s) return s;
  size_t n = strlen(s), a = 0;
  while (a < n && mol_is_blank(s[a])) a++;
  while (n > a && mol_is_blank(s[n - 1])) n--;
  memmove(s, s + a, n - a);
  s[n - a] = '\0';
  return s;
}

/* A malloc'd copy of s without leading and trailing blanks; NULL only when out of memory. */
static inline char *mol_str_strip_dup(const char *s) {
  while (mol_is_blank(*s)) s++;
  size_t n = strlen(s);
  while (n && mol_is_blank(s[n - 1])) n--;
  return strndup(s, n);
}

#endif
