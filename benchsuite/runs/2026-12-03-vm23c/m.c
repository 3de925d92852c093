#include <stdio.h>
#include <stdint.h>
#include <time.h>
#include <stdlib.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e9+t.tv_nsec;}
int main(int c,char**v){int secs=atoi(v[1]);size_t sizes[3]={1<<15,1<<19,1<<21}; /* entries of 8B*8 -> 256KB,4MB,16MB of lines */
 size_t *bufs[3];
 for(int k=0;k<3;k++){size_t n=sizes[k];size_t*p=malloc(n*64);size_t*perm=malloc(n*sizeof(size_t));for(size_t i=0;i<n;i++)perm[i]=i;srand(1);for(size_t i=n-1;i>0;i--){size_t j=rand()%(i+1);size_t t=perm[i];perm[i]=perm[j];perm[j]=t;}
  for(size_t i=0;i<n;i++)p[perm[i]*8]=perm[(i+1)%n]*8;bufs[k]=p;free(perm);}
 volatile size_t sink;
 for(int s=0;s<secs*4;s++){printf("%d",s);for(int k=0;k<3;k++){size_t*p=bufs[k];size_t x=0;int N=200000;double t0=now();for(int i=0;i<N;i++)x=p[x];sink=x;printf(" %.1f",(now()-t0)/N);}printf("\n");fflush(stdout);struct timespec ts={0,150000000};nanosleep(&ts,0);}
}
