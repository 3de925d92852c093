#define _GNU_SOURCE
#include <stdio.h>
#include <stdint.h>
#include <time.h>
#include <stdlib.h>
#include <sched.h>
#include <x86intrin.h>
// Spin for N seconds on the given cpu; histogram of gaps between consecutive rdtsc reads.
int main(int argc,char**argv){int cpu=atoi(argv[1]);double secs=atof(argv[2]);
cpu_set_t s;CPU_ZERO(&s);CPU_SET(cpu,&s);sched_setaffinity(0,sizeof s,&s);
struct timespec a,b;clock_gettime(CLOCK_MONOTONIC,&a);uint64_t t0=__rdtsc();
while(1){clock_gettime(CLOCK_MONOTONIC,&b);if(b.tv_sec-a.tv_sec>=1)break;}
double ghz=(__rdtsc()-t0)/((b.tv_sec-a.tv_sec)*1e9+(b.tv_nsec-a.tv_nsec));
uint64_t end=__rdtsc()+(uint64_t)(secs*1e9*ghz),prev=__rdtsc();
uint64_t cnt[8]={0};double tot[8]={0};const double lim[8]={1e3,2e3,5e3,1e4,2e4,5e4,1e5,1e9};
while(1){uint64_t now=__rdtsc();if(now>end)break;double g=(now-prev)/ghz;prev=now;if(g>500){int i=0;while(g>lim[i])i++;cnt[i]++;tot[i]+=g;}}
printf("cpu %d: gaps>0.5us per second by size (count, us stolen/s):",cpu);
const char*nm[8]={"<1us","<2us","<5us","<10us","<20us","<50us","<100us",">100us"};
for(int i=0;i<8;i++)printf(" %s:%.0f/%.0f",nm[i],cnt[i]/secs,tot[i]/1e3/secs);printf("\n");}
