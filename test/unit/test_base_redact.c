#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
static void todo(void **s){(void)s;}
int main(void){const struct CMUnitTest t[]={cmocka_unit_test(todo)};return cmocka_run_group_tests(t,NULL,NULL);}
