module streamgate/dataplane

go 1.26.0

require (
	github.com/VictoriaMetrics/metrics v1.35.1
	github.com/klauspost/compress v1.20.0
	github.com/tidwall/gjson v1.20.0
	github.com/valyala/fasthttp v1.74.0
	golang.org/x/sys v0.49.0
)

require (
	github.com/molecule-man/go-brrr v1.0.1 // indirect
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.2.0 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	github.com/valyala/fastrand v1.1.0 // indirect
	github.com/valyala/histogram v1.2.0 // indirect
)
