// Command gen rewrites the generated sections of a README from the
// registries: go run ./gen README.md.
package main

import (
	"fmt"
	"os"

	"streamgate/dataplane/refdoc"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gen README.md")
		os.Exit(2)
	}
	if err := refdoc.UpdateFile(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
