// Package linemix is a fixed mix of realistic log lines for the benchmarks
// of the processors and their engines, so that their figures compare.
package linemix

import "fmt"

// Lines returns a batch of 256 realistic lines of about 120 bytes:
// 10% DEBUG, 5% with an SSN, a fifth JSON, and a few with an email address,
// an IP address or a card number.
func Lines() []string {
	const n = 256
	out := make([]string, 0, n)
	for i := range n {
		ts := fmt.Sprintf("2024-11-22T05:%02d:%02d.%03dZ", i/60%60, i%60, i*37%1000)
		var l string
		switch {
		case i%10 == 3:
			l = fmt.Sprintf("%s DEBUG [cache] lookup key=session:%08x hit=true size=%d ttl=300s shard=%d", ts, i*2654435761, 512+i, i%16)
		case i%20 == 7:
			l = fmt.Sprintf("%s INFO  [kyc] applicant verified ssn=%03d-%02d-%04d score=0.%02d request_id=%06d", ts, 100+i, 10+i%90, 1000+i*7, i%100, i*31)
		case i%5 == 1:
			svc := []string{"checkout", "payments", "noisy-service", "search"}[i/5%4]
			l = fmt.Sprintf(`{"ts":"%s","level":"info","service":{"name":"%s"},"msg":"handled request","status":%d,"dur_ms":%d}`, ts, svc, 200+i%3, i%97)
		case i%25 == 9:
			l = fmt.Sprintf("%s INFO  [mail] sent receipt to user%d@example.com template=receipt_v2 queue=outbound id=%d", ts, i, i*17)
		case i%25 == 14:
			l = fmt.Sprintf("%s WARN  [http] rate limited client=10.%d.%d.%d path=/api/v1/search retry_after=30s", ts, i%256, i*3%256, i*7%256)
		case i%50 == 22:
			l = fmt.Sprintf("%s INFO  [billing] charge ok card=4111 1111 1111 1111 amount=%d.%02d currency=EUR", ts, i, i%100)
		default:
			l = fmt.Sprintf("%s INFO  [http] GET /api/v1/orders/%d status=200 duration=%d.%dms bytes=%d upstream=orders", ts, 10000+i, i%50, i%10, 1000+i*13)
		}
		out = append(out, l)
	}
	return out
}
