#define _GNU_SOURCE
#include <stdio.h>
#include <stdint.h>
#include <time.h>
#include <stdlib.h>
#include <sys/mman.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e9+t.tv_nsec;}
static size_t* mk(size_t n,int huge){size_t bytes=n*64;void*p=mmap(0,bytes+(4<<20),PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);uintptr_t a=((uintptr_t)p+(2<<20)-1)&~((uintptr_t)(2<<20)-1);size_t*q=(size_t*)a;
 madvise(q,bytes,huge?MADV_HUGEPAGE:MADV_NOHUGEPAGE);
 size_t*perm=malloc(n*sizeof(size_t));for(size_t i=0;i<n;i++)perm[i]=i;srand(1);for(size_t i=n-1;i>0;i--){size_t j=rand()%(i+1);size_t t=perm[i];perm[i]=perm[j];perm[j]=t;}
 for(size_t i=0;i<n;i++)q[perm[i]*8]=perm[(i+1)%n]*8;free(perm);return q;}
int main(int c,char**v){int secs=atoi(v[1]);size_t n=atol(v[2]);size_t*b[2]={mk(n,0),mk(n,1)};
 volatile size_t sink;
 for(int s=0;s<secs*4;s++){printf("%d",s);for(int k=0;k<2;k++){size_t*p=b[k];size_t x=0;int N=100000;double t0=now();for(int i=0;i<N;i++)x=p[x];sink=x;printf(" %.1f",(now()-t0)/N);}printf("\n");fflush(stdout);struct timespec ts={0,150000000};nanosleep(&ts,0);}
}
