// Spin on the clock pinned to one CPU; report gaps (the thread not running)
// and whether the guest scheduler ran something else meanwhile (schedstat
// run_delay) or not (host steal / interrupts).
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <stdint.h>
#include <string.h>
static uint64_t now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1000000000ull+t.tv_nsec;}
static void sched(uint64_t*run,uint64_t*wait){FILE*f=fopen("/proc/thread-self/schedstat","r");unsigned long long a,b,c;fscanf(f,"%llu %llu %llu",&a,&b,&c);fclose(f);*run=a;*wait=b;}
static uint64_t steal(int cpu){FILE*f=fopen("/proc/stat","r");char line[512];char want[16];sprintf(want,"cpu%d ",cpu);uint64_t v[10]={0};while(fgets(line,sizeof line,f)){if(!strncmp(line,want,strlen(want))){sscanf(line+strlen(want),"%lu %lu %lu %lu %lu %lu %lu %lu",&v[0],&v[1],&v[2],&v[3],&v[4],&v[5],&v[6],&v[7]);break;}}fclose(f);return v[7];}
int main(int argc,char**argv){int cpu=atoi(argv[1]);double secs=atof(argv[2]);
 cpu_set_t s;CPU_ZERO(&s);CPU_SET(cpu,&s);sched_setaffinity(0,sizeof s,&s);
 uint64_t end=now()+(uint64_t)(secs*1e9),last=now(),nextsample=last+1000000;uint64_t r0,w0,r,w;sched(&r0,&w0);uint64_t ws=w0;
 uint64_t st0=steal(cpu);
 long n100=0,n500=0,n1m=0,n1m_sched=0;uint64_t tot=0,longest=0,tot1m=0;
 while(1){uint64_t t=now();uint64_t gap=t-last;
  if(gap>100000){n100++;tot+=gap;if(gap>longest)longest=gap;
    if(gap>500000)n500++;
    if(gap>1000000){n1m++;tot1m+=gap;sched(&r,&w);if(w-ws>gap/2)n1m_sched++;ws=w;}
  }
  last=t;
  if(t>nextsample){sched(&r,&w);ws=w;nextsample=t+1000000;last=now();}
  if(t>end)break;}
 sched(&r,&w);uint64_t st1=steal(cpu);
 printf("cpu%d %.0fs: gaps>100us %ld (%.1f ms total), >500us %ld, >1ms %ld (%.1f ms; %ld with guest runqueue wait), longest %.2f ms; guest run_delay %.1f ms; steal %lu ticks (10ms)\n",cpu,secs,n100,tot/1e6,n500,n1m,tot1m/1e6,n1m_sched,longest/1e6,(w-w0)/1e6,st1-st0);}
