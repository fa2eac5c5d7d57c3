# Sequential Python model of cuda/block_select.cu and cuda/radix_select.cu.
# Checks the kernels' logic (flush rule, threshold, bitonic indices, radix
# passes, ordered gather of ties) against a plain sort, with random thread
# interleavings of the shared-memory atomics. No GPU needed:
#   python3 cuda/select_k_model.py [trials]
import random, math, struct
INF=float('inf'); NAN=float('nan'); EMPTY=2**31-1
def before(av,ai,bv,bi): return av<bv or (av==bv and ai<bi)
def bitonic(v,idx,n,T):
    size=2
    while size<=n:
        stride=size>>1
        while stride>0:
            for tid in range(T):
                t=tid
                while t<(n>>1):
                    lo=2*t-(t&(stride-1)); hi=lo+stride
                    asc=(lo&size)==0
                    vl,vh,il,ih=v[lo],v[hi],idx[lo],idx[hi]
                    sw = before(vh,ih,vl,il) if asc else before(vl,il,vh,ih)
                    if sw: v[lo],v[hi],idx[lo],idx[hi]=vh,vl,ih,il
                    t+=T
            stride>>=1
        size<<=1
def fetch(row,c,col_offset=0,in_idx=None,mask=None,bias=None):
    x=row[c]
    if in_idx is not None:
        i=in_idx[c]
        if i<0: x=NAN
    else:
        i=col_offset+c
        if mask is not None and not mask[i]: x=NAN
    if bias is not None: x=x+bias[c]
    return x,i
def nextpow2(x):
    p=1
    while p<x: p<<=1
    return p
def block_select(row,k,begin,end,K,T=256,V=8,CAP=4096,**kw):
    R=T*V; BUF=CAP-K
    sv=[INF]*CAP; si=[EMPTY]*CAP
    st={'count':0}
    thr=(INF,EMPTY)
    def flush(thr):
        n=st['count']
        if n>0:
            total=nextpow2(K+n)
            for i in range(K+n,total): sv[i]=INF; si[i]=EMPTY
            bitonic(sv,si,total,T)
        thr=(sv[k-1],si[k-1]); st['count']=0
        return thr
    base=begin
    while base<end:
        order=list(range(T)); random.shuffle(order)
        lastpos={}
        vals={}
        for tid in range(T):
            vs=[]
            for j in range(V):
                c=base+j*T+tid
                vs.append(fetch(row,c,**kw) if c<end else (NAN,EMPTY))
            vals[tid]=vs
        # atomics interleaved randomly per element
        ops=[(tid,j) for tid in range(T) for j in range(V)]
        random.shuffle(ops)
        ops.sort(key=lambda o:(o[0],o[1]))  # per-thread program order kept...
        random.shuffle(order)
        # interleave threads: process threads in random order, each thread's j in order
        lp=[-1]*T
        pend={tid:0 for tid in range(T)}
        alive=list(range(T))
        while alive:
            tid=random.choice(alive)
            j=pend[tid]
            v,i=vals[tid][j]
            if before(v,i,thr[0],thr[1]):
                pos=st['count']; st['count']+=1
                assert K+pos<CAP, "overflow"
                sv[K+pos]=v; si[K+pos]=i; lp[tid]=pos
            pend[tid]+=1
            if pend[tid]==V: alive.remove(tid)
        if any(p>=BUF-R-1 for p in lp):
            thr=flush(thr)
        base+=R
    thr=flush(thr)
    return [(sv[i] if si[i]!=EMPTY else INF, si[i] if si[i]!=EMPTY else -1) for i in range(k)]
def key_of(v):
    if v!=v: return 0xffffffff
    b=struct.unpack('<I',struct.pack('<f',v))[0]
    if b==0x80000000: b=0
    return (~b)&0xffffffff if b&0x80000000 else b|0x80000000
def radix_select(row,k,begin,end,T=1024,**kw):
    prefix=0; pmask=0; need=k; take=0
    for p in range(4):
        shift=24-8*p
        hist=[0]*256
        for c in range(begin,end):
            v,i=fetch(row,c,**kw); key=key_of(v)
            if key!=0xffffffff and (key&pmask)==prefix: hist[(key>>shift)&255]+=1
        n=need
        if p==0:
            n=min(n,sum(hist)); take=n
        pp=prefix
        if n>0:
            cum=0
            for b in range(256):
                if cum+hist[b]>=n:
                    pp|=b<<shift; n-=cum; break
                cum+=hist[b]
        prefix=pp; pmask|=0xff<<shift; need=n
        if take==0: break
    less_total=take-need
    S=nextpow2(k)
    sv=[0.0]*S; si=[0]*S; sl=0
    eq_base=0
    base=begin
    while take>0 and base<end:
        flags=[]; items=[]
        for tid in range(T):
            c=base+tid
            v,i,key=0.0,EMPTY,0xffffffff
            if c<end:
                v,i=fetch(row,c,**kw); key=key_of(v)
            items.append((v,i,key))
        for tid in random.sample(range(T),T):
            v,i,key=items[tid]
            if key!=0xffffffff and key<prefix:
                sv[sl]=v; si[sl]=i; sl+=1
        eq=[items[t][2]!=0xffffffff and items[t][2]==prefix for t in range(T)]
        wt=[sum(eq[w*32:(w+1)*32]) for w in range(T//32)]
        total=sum(wt)
        for tid in range(T):
            w=tid>>5; lane=tid&31
            before_=sum(wt[:w]); rank=sum(eq[w*32:w*32+lane])
            pos=eq_base+before_+rank
            if eq[tid] and pos<need:
                sv[less_total+pos]=items[tid][0]; si[less_total+pos]=items[tid][1]
        eq_base+=total
        base+=T
    assert sl==less_total,(sl,less_total)
    for i in range(take,S): sv[i]=INF; si[i]=EMPTY
    bitonic(sv,si,S,T)
    return [(sv[i] if si[i]!=EMPTY else INF, si[i] if si[i]!=EMPTY else -1) for i in range(k)]
def ref(row,k,begin,end,**kw):
    items=[]
    for c in range(begin,end):
        v,i=fetch(row,c,**kw)
        if v==v: items.append((v,i))
    items.sort(key=lambda t:(t[0],t[1]))
    items=items[:k]
    return items+[(INF,-1)]*(k-len(items))
def same(a,b):
    return all(x[1]==y[1] and (x[0]==y[0]) for x,y in zip(a,b))
random.seed(1)
def rowgen(kind,n):
    if kind==0: return [random.uniform(-100,100) for _ in range(n)]
    if kind==1: return [float(random.randint(0,5)-2) for _ in range(n)]
    if kind==2: return [1.5]*n
    if kind==3: return [float(n-c) for c in range(n)]
    if kind==4:
        r=[random.uniform(-1,1) for _ in range(n)]
        for c in range(0,n,3): r[c]=NAN
        if n>5: r[1]=-0.0; r[4]=0.0; r[5]=INF
        return r
import sys
fails=0
for trial in range(int(sys.argv[1]) if len(sys.argv)>1 else 30):
    kind=random.randint(0,4)
    n=random.choice([1,5,37,300,1500,5000,9000,20000,30000])
    k=random.choice([1,3,10,32,33,100,200,600,1024])
    K=max(32,nextpow2(k))
    row=rowgen(kind,n)
    b=random.randint(0,n//3); e=random.randint(b,n) if random.random()<0.5 else n
    kw={}
    if random.random()<0.3:
        kw['mask']=[random.random()<0.5 for _ in range(n+10)]; kw['col_offset']=3
        row2=row+[0.0]*10
    if random.random()<0.2:
        kw={'in_idx':[ (c*7 if random.random()<0.8 else -1) for c in range(n)]}
    if random.random()<0.3: kw['bias']=[random.uniform(0,5) for _ in range(n)]
    want=ref(row,k,b,e,**kw)
    got=block_select(row,k,b,e,K,**kw) if k<=1024 else None
    T=1024 if n>2000 else 64
    got2=radix_select(row,k,b,e,T=T,**kw)
    ok1=got is None or same(got,want); ok2=same(got2,want)
    if not(ok1 and ok2):
        fails+=1; print("FAIL",kind,n,k,b,e,list(kw),ok1,ok2); print(want[:5],(got or [])[:5],got2[:5])
print("fails",fails)
