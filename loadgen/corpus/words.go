package corpus

// The vocabularies hold no digits and no upper-case DEBUG, so lines without PII
// never contain SSN- or card-shaped digit runs and survive a DEBUG keyword filter.

type service struct {
	name  string
	paths []string
}

var services = []service{
	{"checkout", []string{"/api/v1/pay", "/api/v1/cart", "/api/v1/checkout/confirm"}},
	{"auth", []string{"/login", "/logout", "/oauth/token", "/api/v1/session"}},
	{"inventory", []string{"/api/v1/items", "/api/v1/stock/reserve", "/healthz"}},
	{"search", []string{"/search", "/api/v1/suggest", "/api/v1/index/refresh"}},
	{"shipping", []string{"/api/v1/quote", "/api/v1/labels", "/api/v1/track"}},
	{"notifications", []string{"/api/v1/notify", "/api/v1/templates", "/webhooks/mail"}},
}

var levels = []string{"INFO", "INFO", "INFO", "INFO", "INFO", "INFO", "WARN", "WARN", "ERROR"}

var statuses = []int{200, 200, 200, 200, 201, 204, 301, 400, 401, 404, 429, 500, 503}

var messages = []string{
	"request completed",
	"payment authorized",
	"user signed in",
	"cache miss, fetching from origin",
	"upstream timeout, retrying",
	"order placed",
	"rate limit exceeded for client",
	"connection reset by peer",
	"token refreshed",
	"slow query detected",
	"item reserved",
	"validation failed for field",
}

var debugMessages = []string{
	"entering handler",
	"cache lookup",
	"span context propagated",
	"pool stats sampled",
	"query plan chosen",
	"retry budget checked",
}

var words = []string{
	"alpha", "bravo", "canary", "delta", "edge", "fleet", "gateway", "harbor", "ingress",
	"jitter", "kernel", "ledger", "mesh", "node", "origin", "proxy", "quorum", "replica",
	"shard", "tenant", "upstream", "vault", "worker", "xenon", "yield", "zone", "batch",
	"commit", "drain", "epoch", "flush", "gossip", "hint", "index", "journal", "lease",
}

var firstNames = []string{"jane", "john", "maria", "wei", "amina", "lucas", "sofia", "omar", "yuki", "pavel"}

var lastNames = []string{"doe", "smith", "garcia", "chen", "okafor", "martin", "rossi", "haddad", "tanaka", "novak"}

var domains = []string{"example.com", "example.org", "mail.example.net", "corp.example.io"}
