#include <stdio.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <stdlib.h>
#include <stdatomic.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e9+t.tv_nsec;}
struct L{_Atomic uint64_t s; char pad[120];} __attribute__((aligned(128)));
static struct L locks[8];
static int mode; static long N=3000000;
static double res[2];
void* w(void*a){long id=(long)a;uint64_t x=88172645463325252ull+id*7;double t0=now();
 for(long i=0;i<N;i++){x^=x<<13;x^=x>>7;x^=x<<17;struct L*l=&locks[x&7];
  if(mode==0){for(;;){uint64_t s=atomic_load_explicit(&l->s,memory_order_relaxed);if(atomic_compare_exchange_weak_explicit(&l->s,&s,s+4,memory_order_acquire,memory_order_relaxed))break;}}
  else {uint64_t s=atomic_fetch_add_explicit(&l->s,4,memory_order_acquire);(void)s;}
  atomic_fetch_sub_explicit(&l->s,4,memory_order_release);}
 res[id]=(now()-t0)/N;return 0;}
int main(int c,char**v){for(int r=0;r<40;r++){mode=r%2;pthread_t t[2];for(long i=0;i<2;i++)pthread_create(&t[i],0,w,(void*)i);for(int i=0;i<2;i++)pthread_join(t[i],0);printf("%s %.1f %.1f ns/op\n",mode?"fetch_add":"load+cas",res[0],res[1]);}}
