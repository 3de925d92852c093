#include <stdio.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <stdlib.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e9+t.tv_nsec;}
static volatile uint64_t sink;
static double best[2];
static volatile int tick=0, stop=0;
static uint64_t spin(uint64_t n){uint64_t x=88172645463325252ull;for(uint64_t i=0;i<n;i++){x^=x<<13;x^=x>>7;x^=x<<17;}return x;}
void* w(void*a){int id=(long)a;int last=-1;double b=1e18;while(!stop){double t0=now();sink=spin(20000);double d=now()-t0;if(tick!=last){best[id]=b;b=1e18;last=tick;} if(d<b)b=d;}return 0;}
int main(int c,char**v){int secs=atoi(v[1]);pthread_t t[2];for(long i=0;i<2;i++)pthread_create(&t[i],0,w,(void*)i);
 for(int s=0;s<secs*5;s++){struct timespec ts={0,200000000};nanosleep(&ts,0);tick++;struct timespec ts2={0,1000000};nanosleep(&ts2,0);printf("%d %.0f %.0f\n",s,best[0],best[1]);fflush(stdout);}
 stop=1;for(int i=0;i<2;i++)pthread_join(t[i],0);}
