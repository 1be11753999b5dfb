module streamgate/bench

go 1.26.0

require streamgate/loadgen v0.0.0

replace streamgate/loadgen => ../loadgen

require github.com/google/pprof v0.0.0-20260906184651-6331bc6350fe

require github.com/HdrHistogram/hdrhistogram-go v1.4.0 // indirect
