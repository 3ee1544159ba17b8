// Command cri-call is a generic CRI caller built on grpc-go, used by the e2e suite to prove that
// berthd's own HTTP/2 + gRPC server interoperates with the client library kubelet and crictl use.
//
// It connects the way kubelet (up to 1.29) does: the dial target is the bare socket path with a
// unix context dialer and no transport security, so grpc-go sends that path as :authority. It then
// reads JSON lines from stdin and answers each with one JSON line on stdout (lines are served
// concurrently, answers are tagged with the request's id and written as calls finish):
//
//	in:  {"id":"v","method":"/runtime.v1.RuntimeService/Version","request":"<base64>","timeoutMs":5000,
//	      "stream":false,"maxMessages":0,"concurrency":1}
//	out: {"id":"v","calls":[{"code":0,"codeName":"OK","message":"","responses":["<base64>"],"elapsedMs":1.2}]}
//
// Messages are passed through as bytes (the caller encodes and decodes protobuf). With
// concurrency N the same call is issued N times at once on the one connection. A server-streaming
// call ("stream":true) first answers {"id":..,"sent":true} once its request is on the wire, then
// collects messages until the stream ends, the deadline passes or maxMessages (>0) arrived; in the
// last case the call is cancelled and its code is OK.
package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// rawCodec passes messages through as the bytes the caller gave.
type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
	}
	return *b, nil
}

func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*b = append([]byte(nil), data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

type request struct {
	ID          string `json:"id"`
	Method      string `json:"method"`
	Request     string `json:"request"`
	TimeoutMs   int    `json:"timeoutMs"`
	Stream      bool   `json:"stream"`
	MaxMessages int    `json:"maxMessages"`
	Concurrency int    `json:"concurrency"`
}

type callResult struct {
	Code      uint32   `json:"code"`
	CodeName  string   `json:"codeName"`
	Message   string   `json:"message"`
	Responses []string `json:"responses"`
	ElapsedMs float64  `json:"elapsedMs"`
}

type answer struct {
	ID    string       `json:"id"`
	Sent  bool         `json:"sent,omitempty"`
	Error string       `json:"error,omitempty"`
	Calls []callResult `json:"calls,omitempty"`
}

type output struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (o *output) write(a answer) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.enc.Encode(a); err != nil {
		fmt.Fprintf(os.Stderr, "cri-call: write answer: %v\n", err)
		os.Exit(1)
	}
}

var streamDesc = grpc.StreamDesc{ServerStreams: true}

func result(err error, responses [][]byte, started time.Time) callResult {
	st := status.Convert(err)
	out := callResult{Code: uint32(st.Code()), CodeName: st.Code().String(), Message: st.Message(), Responses: []string{}}
	for _, r := range responses {
		out.Responses = append(out.Responses, base64.StdEncoding.EncodeToString(r))
	}
	out.ElapsedMs = float64(time.Since(started).Microseconds()) / 1000
	return out
}

func callUnary(conn *grpc.ClientConn, req request, body []byte) callResult {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(req.TimeoutMs)*time.Millisecond)
	defer cancel()
	started := time.Now()
	var reply []byte
	err := conn.Invoke(ctx, req.Method, &body, &reply, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		return result(err, nil, started)
	}
	return result(nil, [][]byte{reply}, started)
}

func callStream(conn *grpc.ClientConn, req request, body []byte, sent func()) callResult {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(req.TimeoutMs)*time.Millisecond)
	defer cancel()
	started := time.Now()
	stream, err := conn.NewStream(ctx, &streamDesc, req.Method, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		return result(err, nil, started)
	}
	if err := stream.SendMsg(&body); err != nil {
		return result(err, nil, started)
	}
	if err := stream.CloseSend(); err != nil {
		return result(err, nil, started)
	}
	sent()
	var responses [][]byte
	for {
		var msg []byte
		err := stream.RecvMsg(&msg)
		if err == io.EOF {
			return result(nil, responses, started)
		}
		if err != nil {
			return result(err, responses, started)
		}
		responses = append(responses, msg)
		if req.MaxMessages > 0 && len(responses) >= req.MaxMessages {
			return result(nil, responses, started)
		}
	}
}

func serve(conn *grpc.ClientConn, req request, out *output) {
	body, err := base64.StdEncoding.DecodeString(req.Request)
	if err != nil {
		out.write(answer{ID: req.ID, Error: fmt.Sprintf("request: %v", err)})
		return
	}
	if req.TimeoutMs <= 0 {
		req.TimeoutMs = 30000
	}
	n := req.Concurrency
	if n <= 0 {
		n = 1
	}
	calls := make([]callResult, n)
	var sentOnce sync.Once
	var sentWG sync.WaitGroup
	if req.Stream {
		sentWG.Add(n)
		go func() {
			sentWG.Wait()
			sentOnce.Do(func() { out.write(answer{ID: req.ID, Sent: true}) })
		}()
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if req.Stream {
				var once sync.Once
				done := func() { once.Do(sentWG.Done) }
				calls[i] = callStream(conn, req, body, done)
				done()
			} else {
				calls[i] = callUnary(conn, req, body)
			}
		}(i)
	}
	wg.Wait()
	if req.Stream {
		sentWG.Wait()
		sentOnce.Do(func() { out.write(answer{ID: req.ID, Sent: true}) })
	}
	out.write(answer{ID: req.ID, Calls: calls})
}

func main() {
	socket := flag.String("socket", "", "CRI socket path (a unix:// prefix is accepted, as kubelet's endpoint flag)")
	maxMsg := flag.Int("max-msg-bytes", 16*1024*1024, "largest message sent or received (kubelet's default is 16 MiB)")
	flag.Parse()
	if *socket == "" {
		fmt.Fprintln(os.Stderr, "cri-call: -socket is required")
		os.Exit(2)
	}
	// Like kubelet's GetAddressAndDialer: the target is the path itself, dialled by a unix dialer.
	path := strings.TrimPrefix(*socket, "unix://")
	dialer := func(ctx context.Context, addr string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	conn, err := grpc.DialContext(ctx, path,
		grpc.WithInsecure(),
		grpc.WithBlock(),
		grpc.WithContextDialer(dialer),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(*maxMsg), grpc.MaxCallSendMsgSize(*maxMsg)),
	)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cri-call: dial %s: %v\n", path, err)
		os.Exit(1)
	}
	defer conn.Close()
	out := &output{enc: json.NewEncoder(os.Stdout)}
	var wg sync.WaitGroup
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 64*1024), 64*1024*1024)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line == "" {
			continue
		}
		var req request
		if err := json.Unmarshal([]byte(line), &req); err != nil {
			out.write(answer{Error: fmt.Sprintf("parse request line: %v", err)})
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			serve(conn, req, out)
		}()
	}
	wg.Wait()
	if err := scanner.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "cri-call: read stdin: %v\n", err)
		os.Exit(1)
	}
}
