package ui

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// The htmx request and response headers the page uses, in one place.
const (
	hxRequest        = "HX-Request"
	hxHistoryRestore = "HX-History-Restore-Request"
	hxCurrentURL     = "HX-Current-URL"
	hxPushURL        = "HX-Push-Url"
	hxReplaceURL     = "HX-Replace-Url"
	hxTrigger        = "HX-Trigger"
	hxTriggerSwapped = "HX-Trigger-After-Swap"
	hxRetarget       = "HX-Retarget"
	hxReswap         = "HX-Reswap"

	// searchTyping is set by the page's script on the requests that typing in
	// the search box sends, as opposed to an explicit search (Enter).
	searchTyping = "X-Search-Typing"
	// searchContinues is set on a typing request whose page shows a search
	// that was itself typed (not confirmed with Enter, nor opened from a link).
	searchContinues = "X-Search-Continues"
	// rangeStepContinues is set on a request of the time-range control
	// changed by an arrow key, when the page shows a range stepped to so.
	rangeStepContinues = "X-Range-Step-Continues"
)

// isTyping reports whether the request comes from typing in the search box.
func isTyping(r *http.Request) bool { return r.Header.Get(searchTyping) == "true" }

// isHTMX reports whether htmx sent the request to swap part of the page. A
// history restore asks for the whole page, like a reload.
func isHTMX(r *http.Request) bool {
	return r.Header.Get(hxRequest) == "true" && r.Header.Get(hxHistoryRestore) != "true"
}

// varyOnHTMX marks a response whose body depends on whether htmx asked, so
// that no cache hands a partial to a full load or the other way round.
func varyOnHTMX(c echo.Context) {
	c.Response().Header().Add("Vary", hxRequest)
	c.Response().Header().Add("Vary", hxHistoryRestore)
}

// pushURL tells htmx to put url in the address bar after the swap, so that
// reload, Back and a copied link come back to the same view.
func pushURL(c echo.Context, url string) { c.Response().Header().Set(hxPushURL, url) }

// replaceURL tells htmx to put url in the address bar in place of the
// current one, adding no step to Back.
func replaceURL(c echo.Context, url string) { c.Response().Header().Set(hxReplaceURL, url) }

// trigger fires a client-side event after the swap.
func trigger(c echo.Context, event string) { c.Response().Header().Set(hxTrigger, event) }

// triggerAfterSwap fires a client-side event once the response is in
// place: a panel opened on it shows, and focuses, what came with it.
func triggerAfterSwap(c echo.Context, event string) {
	c.Response().Header().Set(hxTriggerSwapped, event)
}

// retarget swaps the response into another element than the one asked for.
func retarget(c echo.Context, selector, swap string) {
	c.Response().Header().Set(hxRetarget, selector)
	c.Response().Header().Set(hxReswap, swap)
}
